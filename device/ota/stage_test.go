package ota_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/httpget"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// flipRootfs returns b with one byte of its rootfs image changed (the rig's
// bundles end with a rootfs of imageSize bytes, then a boot image of a
// quarter of that).
func flipRootfs(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-imageSize/4-100] ^= 0x01
	return b
}

// TestInstallFileSwappedAfterOpen pins that a bundle file replaced on disk
// while it is installed cannot get unverified bytes into the slot: the
// install reads the bundle once and writes exactly what it verified, from
// its staged copy or, with no room to stage, from the file it opened.
func TestInstallFileSwappedAfterOpen(t *testing.T) {
	for _, noRoom := range []bool{false, true} {
		t.Run(map[bool]string{false: "staged", true: "no room to stage"}[noRoom], func(t *testing.T) {
			r := newRig(t)
			good := r.bundle("1.1.0", nil)
			path := r.writeBundle(good)
			var opens atomic.Int32
			src := ota.SourceFunc(func(ctx context.Context) (io.ReadCloser, error) {
				opens.Add(1)
				f, err := ota.FileSource(path).Open(ctx)
				if err != nil {
					return nil, err
				}
				// Swap in an altered bundle under the same name once it is open.
				tmp := path + ".tmp"
				if err := os.WriteFile(tmp, flipRootfs(good), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
				return f, nil
			})
			m := r.manager()
			if noRoom {
				ota.SetNoRoomToStage(m)
			}
			man, err := m.Install(t.Context(), src, ota.InstallOptions{})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if n := opens.Load(); n != 1 {
				t.Errorf("bundle opened %d times, want 1", n)
			}
			for _, im := range man.Images {
				p := r.cfg.B.Rootfs
				if im.Name == ota.ImageBoot {
					p = r.cfg.B.Boot
				}
				if got := otatest.FileHash(p); got != im.SHA256 {
					t.Errorf("slot b %s holds %s, want the verified %s", im.Name, got, im.SHA256)
				}
			}
		})
	}
}

// TestInstallNoRoomForStream pins that a bundle from a source that can be
// read only once is refused, with nothing written, when the data partition
// has no room to stage it.
func TestInstallNoRoomForStream(t *testing.T) {
	r := newRig(t)
	good := r.bundle("1.1.0", nil)
	before := r.snapshot()
	m := r.manager()
	ota.SetNoRoomToStage(m)
	_, err := m.Install(t.Context(), ota.SourceFunc(func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(good)), nil
	}), ota.InstallOptions{})
	if !errors.Is(err, ota.ErrNoSpace) {
		t.Fatalf("err %v, want %v", err, ota.ErrNoSpace)
	}
	if after := r.snapshot(); after != before {
		t.Errorf("refused install changed the slots or boot state")
	}
}

// TestInstallTamperedStreamKeepsTrial pins that a bundle that fails to verify,
// from a source read once as a stream (a URL, an object store), writes
// nothing into the inactive slot and leaves an armed trial armed.
func TestInstallTamperedStreamKeepsTrial(t *testing.T) {
	r := newRig(t)
	if _, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := r.bootState(); s.Next != ota.SlotB {
		t.Fatalf("trial not armed: %+v", s)
	}
	bad := flipRootfs(r.bundle("1.2.0", nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.ServeContent(w, req, "bundle.lbota", time.Time{}, bytes.NewReader(bad))
	}))
	t.Cleanup(srv.Close)
	sources := map[string]ota.Source{
		"url": httpget.Source{URL: srv.URL + "/bundle.lbota"},
		"stream": ota.SourceFunc(func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(bad)), nil
		}),
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			before := r.snapshot()
			m := r.manager()
			_, err := m.Install(t.Context(), src, ota.InstallOptions{})
			if !errors.Is(err, ota.ErrImageHash) {
				t.Fatalf("err %v, want %v", err, ota.ErrImageHash)
			}
			if after := r.snapshot(); after != before {
				t.Errorf("install of a bad bundle changed the slots or boot state:\nbefore %+v\nafter  %+v", before, after)
			}
			st := r.manager().Status()
			if si := st.Slots[ota.SlotB]; si.Version != "1.1.0" || si.Incomplete {
				t.Errorf("slot b recorded as %+v, want the armed 1.1.0", si)
			}
		})
	}
}

// TestInstallStagingLeavesNothing pins that the staged copy of a bundle is
// not left on the data partition.
func TestInstallStagingLeavesNothing(t *testing.T) {
	r := newRig(t)
	if _, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(flipRootfs(r.bundle("1.2.0", nil)))), ota.InstallOptions{}); err == nil {
		t.Fatal("tampered bundle installed")
	}
	entries, err := os.ReadDir(r.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".json" {
			t.Errorf("left in the state directory: %s", e.Name())
		}
	}
}
