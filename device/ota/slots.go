package ota

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// targetPath is where image name goes in slot paths sp.
func targetPath(sp SlotPaths, name string) string {
	if name == ImageBoot {
		return sp.Boot
	}
	return sp.Rootfs
}

// sameFile reports whether two paths are the same file or device.
func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return false
	}
	if os.SameFile(fa, fb) {
		return true
	}
	// Two device nodes for one block device.
	if fa.Mode()&os.ModeDevice == 0 || fb.Mode()&os.ModeDevice == 0 {
		return false
	}
	ra, rb := rdev(fa), rdev(fb)
	return ra != 0 && ra == rb
}

func rdev(fi os.FileInfo) uint64 {
	// os.Stat fills a *syscall.Stat_t; asserting x/sys/unix's type would
	// always fail and make every block device look like every other.
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Rdev)
	}
	return 0
}

// writeImage streams content into path (a file or block device), then
// syncs. A regular file is cut to the image's size.
func writeImage(path string, content io.Reader, size int64, buf []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open slot %s: %w", path, err)
	}
	n, err := io.CopyBuffer(onlyWriter{f}, content, buf)
	if err == nil && n != size {
		err = fmt.Errorf("%w: wrote %d bytes, want %d", ErrImageSize, n, size)
	}
	if err == nil {
		if fi, serr := f.Stat(); serr == nil && fi.Mode().IsRegular() {
			err = f.Truncate(size)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write slot %s: %w", path, err)
	}
	return nil
}

// onlyWriter hides ReadFrom so CopyBuffer uses our buffer and the reader
// sees every byte (the hash must cover what is written).
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// readBack hashes the first size bytes of path, from the device rather than
// the page cache, and compares them with the manifest.
func readBack(path string, im Image, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read back %s: %w", path, err)
	}
	defer f.Close()
	// Drop cached pages so the read hits the medium (advisory).
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, im.Size), buf)
	if err != nil {
		return fmt.Errorf("read back %s: %w", path, err)
	}
	if n != im.Size {
		return fmt.Errorf("%w: %s: read %d bytes, want %d", ErrReadback, path, n, im.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != im.SHA256 {
		return fmt.Errorf("%w: %s: sha256 %s, want %s", ErrReadback, path, got, im.SHA256)
	}
	return nil
}
