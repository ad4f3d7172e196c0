package ota

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// stageReserve is the room a staged bundle leaves free on the data
// partition, for the update state and the daemon's own store.
const stageReserve = 32 << 20

// staged is the image section of a bundle, read once from its source and
// verified whole. Reading it again yields exactly the bytes verified.
type staged struct {
	f   *os.File
	off int64 // where the images start in f
	own bool  // f is our copy, to close
}

// stage reads the images of a bundle whose header hdr was read from r, and
// verifies every one against the manifest, before anything is written.
//
// The images are copied to a file in StateDir (the data partition) that is
// unlinked at once, so no other process can open and change it between
// verifying and writing. When the bundle does not fit there and the source
// is a seekable file (a local bundle), the source's own file descriptor is
// verified, rewound and read again: a file renamed over the bundle's path
// meanwhile is never read, though one rewritten in place would be (the
// hashes checked while writing then fail the install, and no trial is
// armed). Any other source that does not fit is refused with ErrNoSpace.
// counted is r as read (through the progress counter).
func (m *Manager) stage(ctx context.Context, r, counted io.Reader, hdr *Header) (*staged, error) {
	size := hdr.Manifest.storedTotal()
	verify := func(im Image, _ io.Reader) error { return ctx.Err() }
	if err := os.MkdirAll(m.cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("ota: stage bundle: %w", err)
	}
	if free, ok := m.freeSpace(m.cfg.StateDir); !ok || free >= size+stageReserve {
		f, err := os.CreateTemp(m.cfg.StateDir, ".staging-*")
		if err != nil {
			return nil, fmt.Errorf("ota: stage bundle: %w", err)
		}
		st := &staged{f: f, own: true}
		if err := os.Remove(f.Name()); err != nil {
			st.close()
			return nil, fmt.Errorf("ota: stage bundle: %w", err)
		}
		w := &stageWriter{f: f}
		if err := EachImage(io.TeeReader(counted, w), hdr.Manifest, verify); err != nil {
			st.close()
			if w.err != nil {
				return nil, w.err
			}
			return nil, err
		}
		return st, nil
	}
	f, ok := r.(*os.File)
	if !ok {
		return nil, fmt.Errorf("%w: %d bytes", ErrNoSpace, size)
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes, and the bundle cannot be read twice: %v", ErrNoSpace, size, err)
	}
	if err := EachImage(counted, hdr.Manifest, verify); err != nil {
		return nil, err
	}
	return &staged{f: f, off: off}, nil
}

// images returns a reader of the staged image section from its start.
func (s *staged) images() (io.Reader, error) {
	if _, err := s.f.Seek(s.off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("ota: read staged bundle: %w", err)
	}
	return s.f, nil
}

func (s *staged) close() {
	if s.own {
		_ = s.f.Close()
	}
}

// stageWriter writes the staging copy, keeping its error apart from the
// source's so that a full disk is not reported as a bad bundle.
type stageWriter struct {
	f   *os.File
	err error
}

func (w *stageWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = fmt.Errorf("ota: stage bundle: %w", err)
		if errors.Is(err, syscall.ENOSPC) {
			w.err = fmt.Errorf("%w: %v", ErrNoSpace, err)
		}
	}
	return n, err
}
