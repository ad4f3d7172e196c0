package storage

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestEpoch pins the store epoch: made when the file is created, the same
// after a reopen, a different one in a new file (after a wipe), and a
// renewed one kept in the file.
func TestEpoch(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	e := s.Epoch()
	if !regexp.MustCompile(`^[0-9a-z]{1,13}$`).MatchString(e) {
		t.Fatalf("epoch %q", e)
	}
	closeChecked(t, s)
	s = openTest(t, cfg)
	if got := s.Epoch(); got != e {
		t.Fatalf("epoch after reopen %q, want %q", got, e)
	}
	renewed, err := s.RenewEpoch()
	if err != nil || renewed == e || s.Epoch() != renewed {
		t.Fatalf("RenewEpoch = %q, %v (was %q, now %q)", renewed, err, e, s.Epoch())
	}
	closeChecked(t, s)
	s = openTest(t, cfg)
	if got := s.Epoch(); got != renewed {
		t.Fatalf("renewed epoch not kept: %q, want %q", got, renewed)
	}
	closeChecked(t, s)
	if err := os.Remove(filepath.Join(cfg.Dir, FileName)); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, cfg)
	if got := s.Epoch(); got == renewed || got == e {
		t.Fatalf("a new store file kept the old epoch %q", got)
	}
}
