package identity_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/device/identity"
)

func TestLoadCreatesOnceAndSigns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !nkeys.IsValidPublicUserKey(id.ID()) {
		t.Fatalf("id %q is not a user key", id.ID())
	}
	fi, err := os.Stat(filepath.Join(dir, identity.FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode %v %v", fi.Mode(), err)
	}
	again, err := identity.Load(dir)
	if err != nil || again.ID() != id.ID() {
		t.Fatalf("identity changed on reload: %v", err)
	}
	sig, err := id.Sign([]byte("status"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := nkeys.FromPublicKey(id.ID())
	if err := pub.Verify([]byte("status"), sig); err != nil {
		t.Fatal(err)
	}
	if err := id.Verify([]byte("other"), sig); err == nil {
		t.Fatal("verified a wrong message")
	}
}

func TestLoadRefuses(t *testing.T) {
	cases := []struct {
		name  string
		setup func(path string)
		want  error
	}{
		{"readable by others", func(p string) { os.Chmod(p, 0o644) }, identity.ErrInsecureMode},
		{"garbage", func(p string) { os.WriteFile(p, []byte("garbage"), 0o600) }, identity.ErrBadSeed},
		{"account seed", func(p string) {
			kp, _ := nkeys.CreateAccount()
			s, _ := kp.Seed()
			os.WriteFile(p, s, 0o600)
		}, identity.ErrBadSeed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := identity.Load(dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, identity.FileName)
			c.setup(path)
			before, _ := os.ReadFile(path)
			if _, err := identity.Load(dir); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Fatal("a bad seed was replaced: identities are never regenerated")
			}
		})
	}
	if _, err := identity.Load(""); !errors.Is(err, identity.ErrNoDir) {
		t.Fatal(err)
	}
}
