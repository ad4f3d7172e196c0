//go:build !linux

package watchdog

import "errors"

// Open is only implemented on Linux.
func Open(string) (Device, error) { return nil, errors.New("watchdog: only supported on linux") }
