package ota_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// TestInstallTrialConfirm pins the happy path: install into b, trial boot,
// health passes for confirm_after, b is committed.
func TestInstallTrialConfirm(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "zstd"}[compress], func(t *testing.T) {
			r := newRig(t)
			before := r.snapshot()
			b := r.bundle("1.1.0", func(o *ota.PackOptions) { o.Compress = compress })
			m := r.manager()
			man, err := m.Install(t.Context(), ota.FileSource(r.writeBundle(b)), ota.InstallOptions{Reboot: true})
			if err != nil {
				t.Fatal(err)
			}
			if man.Version != "1.1.0" {
				t.Fatalf("version %q", man.Version)
			}
			if got := otatest.FileHash(r.cfg.B.Rootfs); got != man.Images[0].SHA256 {
				t.Fatalf("slot b rootfs hash %s, want %s", got, man.Images[0].SHA256)
			}
			if after := r.snapshot(); after.activeRoot != before.activeRoot || after.activeBoot != before.activeBoot {
				t.Fatal("active slot changed")
			}
			if got := r.fw.Reboots(); !slices.Equal(got, []bool{false}) {
				t.Fatalf("reboots %v, want one plain reboot (file backend)", got)
			}
			if s := r.bootState(); s.Booted != ota.SlotB || !s.Trial || s.Default != ota.SlotA {
				t.Fatalf("after reboot: %+v", s)
			}

			synctest.Test(t, func(t *testing.T) {
				m := r.manager(healthFrom(func() error { return nil }))
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- m.Run(ctx) }()
				synctest.Wait()
				if st := m.Status(); st.State != ota.StateTrial {
					t.Fatalf("state %q, want trial", st.State)
				}
				time.Sleep(29 * time.Second)
				synctest.Wait()
				if st := m.Status(); st.State != ota.StateTrial {
					t.Fatalf("confirmed too early: %q", st.State)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				st := m.Status()
				if st.State != ota.StateConfirmed {
					t.Fatalf("state %q, want confirmed", st.State)
				}
				if last := st.History[len(st.History)-1]; last.Event != "confirmed" || last.Slot != ota.SlotB || last.Version != "1.1.0" {
					t.Fatalf("history %+v", st.History)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
			if s := r.bootState(); s.Default != ota.SlotB || s.Trial || s.Next != "" {
				t.Fatalf("after confirm: %+v", s)
			}
		})
	}
}

// TestTrialUnhealthyRollsBack pins rollback: health never holds for
// confirm_after within confirm_timeout, so the old slot is committed and the
// device reboots into it.
func TestTrialUnhealthyRollsBack(t *testing.T) {
	r := newRig(t)
	m := r.manager()
	if _, err := m.Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{Reboot: true}); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		// Healthy for 20s out of every 25s: never 30s in a row.
		start := time.Now()
		flaky := healthFrom(func() error {
			if time.Since(start)%(25*time.Second) >= 20*time.Second {
				return errors.New("uplink down")
			}
			return nil
		})
		m := r.manager(flaky)
		done := make(chan error, 1)
		go func() { done <- m.Run(t.Context()) }()
		time.Sleep(119 * time.Second)
		synctest.Wait()
		if got := r.fw.Reboots(); len(got) != 1 {
			t.Fatalf("rolled back before the timeout: reboots %v", got)
		}
		time.Sleep(2 * time.Second)
		err := <-done
		if !errors.Is(err, ota.ErrUnhealthy) {
			t.Fatalf("Run: %v, want ErrUnhealthy", err)
		}
		st := m.Status()
		if st.State != ota.StateRollingBack {
			t.Fatalf("state %q", st.State)
		}
	})
	if got := r.fw.Reboots(); !slices.Equal(got, []bool{false, false}) {
		t.Fatalf("reboots %v", got)
	}
	if s := r.bootState(); s.Booted != ota.SlotA || s.Default != ota.SlotA || s.Trial {
		t.Fatalf("after rollback: %+v", s)
	}
	// The next start on a is idle and the history says why.
	m = r.manager()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	last := st.History[len(st.History)-1]
	if st.State != ota.StateIdle || last.Event != "rolled_back" || !bytes.Contains([]byte(last.Error), []byte("uplink down")) {
		t.Fatalf("status after rollback: %q %+v", st.State, last)
	}
}

// TestTrialCrashFirmwareFallback pins the case where the trial never runs
// leafbox (kernel panic, watchdog): the firmware boots the old slot and the
// next start records the rollback.
func TestTrialCrashFirmwareFallback(t *testing.T) {
	r := newRig(t)
	m := r.manager()
	if _, err := m.Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{Reboot: true}); err != nil {
		t.Fatal(err)
	}
	// Watchdog reset during the trial: the firmware returns to the default.
	if err := r.fw.Reboot(false); err != nil {
		t.Fatal(err)
	}
	m = r.manager()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	if last := st.History[len(st.History)-1]; last.Event != "rolled_back" || last.Slot != ota.SlotB {
		t.Fatalf("history %+v", st.History)
	}
	// And a new install works.
	if _, err := m.Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.2.0", nil))), ota.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestTamperRejected pins that every altered, foreign or unwanted bundle is
// refused with its own error and nothing is written: not the active slot,
// not the inactive slot, not the boot state.
func TestTamperRejected(t *testing.T) {
	r := newRig(t)
	good := r.bundle("1.1.0", nil)
	manifestAt := 8 + 4 + 56 + 64
	otherKP, _ := otatest.Key()
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x01
		return b
	}
	cases := []struct {
		name   string
		bundle []byte
		force  bool
		want   error
	}{
		{"bit flip in rootfs", flip(len(good) - imageSize/4 - 100), false, ota.ErrImageHash},
		{"bit flip in boot image", flip(len(good) - 10), false, ota.ErrImageHash},
		{"bit flip in manifest", flip(manifestAt + 20), false, ota.ErrBadSignature},
		{"bit flip in signature", flip(manifestAt - 3), false, ota.ErrBadSignature},
		{"bit flip in magic", flip(2), false, ota.ErrNotBundle},
		{"wrong key", r.bundle("1.1.0", func(o *ota.PackOptions) { o.Signer = otherKP }), false, ota.ErrUnknownKey},
		{"unsigned", r.bundle("1.1.0", func(o *ota.PackOptions) { o.Signer = nil }), false, ota.ErrUnsigned},
		{"truncated header", good[:50], false, ota.ErrTruncated},
		{"truncated manifest", good[:manifestAt+10], false, ota.ErrTruncated},
		{"truncated image", good[:len(good)-1000], false, ota.ErrTruncated},
		{"truncated by one byte", good[:len(good)-1], false, ota.ErrTruncated},
		{"trailing data", append(bytes.Clone(good), 'x'), false, ota.ErrTrailingData},
		{"wrong board", r.bundle("1.1.0", func(o *ota.PackOptions) { o.Board = "otherboard" }), false, ota.ErrBoardMismatch},
		{"downgrade", r.bundle("0.9.0", nil), false, ota.ErrDowngrade},
		{"downgrade forced still checks board", r.bundle("0.9.0", func(o *ota.PackOptions) { o.Board = "x" }), true, ota.ErrBoardMismatch},
		{"minimum version", r.bundle("1.5.0", func(o *ota.PackOptions) { o.MinVersion = "1.2.0" }), false, ota.ErrTooOld},
		{"not a bundle", []byte("hello world, this is not a bundle at all, really not, no no no no no no no no no no no no no no no no no no no no no no no no no no no no no"), false, ota.ErrNotBundle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := r.snapshot()
			m := r.manager()
			_, err := m.Install(t.Context(), ota.FileSource(r.writeBundle(tc.bundle)), ota.InstallOptions{Force: tc.force})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if after := r.snapshot(); after != before {
				t.Fatalf("install changed the slots or boot state:\nbefore %+v\nafter  %+v", before, after)
			}
			if st := m.Status(); st.State != ota.StateFailed || st.Error == "" {
				t.Fatalf("status %q %q", st.State, st.Error)
			}
		})
	}
	// After all that, the good bundle installs.
	if _, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(good)), ota.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestInstallRefusesActiveTarget pins that a slot whose target is the
// running slot's file (here through a symlink) is never written.
func TestInstallRefusesActiveTarget(t *testing.T) {
	r := newRig(t)
	if err := os.Remove(r.cfg.B.Rootfs); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(r.cfg.A.Rootfs, r.cfg.B.Rootfs); err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	_, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{})
	if !errors.Is(err, ota.ErrActiveSlot) {
		t.Fatalf("err %v", err)
	}
	if r.snapshot() != before {
		t.Fatal("something changed")
	}
}

// TestInstallDuringTrialRefused pins that no install runs while a trial is
// not yet confirmed.
func TestInstallDuringTrialRefused(t *testing.T) {
	r := newRig(t)
	if _, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{Reboot: true}); err != nil {
		t.Fatal(err)
	}
	_, err := r.manager().Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.2.0", nil))), ota.InstallOptions{})
	if !errors.Is(err, ota.ErrTrialPending) {
		t.Fatalf("err %v", err)
	}
}
