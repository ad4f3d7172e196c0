//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errLocked is returned when another process holds the store file.
var errLocked = errors.New("storage: store file locked by another process")

// probeLock fails with errLocked when another process has the file open
// through bbolt (which holds an exclusive flock). The file must not be read
// for damage while someone else writes it.
func probeLock(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s", errLocked, path)
		}
		return fmt.Errorf("storage: lock %s: %w", path, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
