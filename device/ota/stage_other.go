//go:build !linux

package ota

// freeSpace is unknown off Linux: staging is tried, and a full disk fails it.
func freeSpace(string) (int64, bool) { return 0, false }
