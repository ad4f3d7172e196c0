package mqtt

import (
	"errors"
	"testing"

	"github.com/leafbox/leafbox/broker/auth"
)

// Authenticator makes liveAuth the LiveAuth of an Auth.
func (la *liveAuth) Authenticator() *auth.Authenticator { return la.a.Load() }

// guestConf has alice and a guest who may publish on pub (guest.> by
// default).
func guestConf(pub string) auth.Config {
	return auth.Config{Users: []auth.User{
		{Username: "alice", Password: "pw"},
		{Username: "guest", Password: "gpw", Permissions: &auth.Permissions{
			Publish: &auth.SubjectPermission{Allow: []string{pub}},
		}},
	}}
}

// TestNoAuthUserAuth pins MQTT authentication: credentials are checked against the
// broker's live authorization, a connection without credentials is the
// no_auth_user, and a reload that drops that user is refused while one
// that changes its permissions applies once put in force.
func TestNoAuthUserAuth(t *testing.T) {
	cfg := guestConf("guest.>")
	live := newLiveAuth(t, cfg)
	a, err := NewAuth(live, cfg, "guest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check("alice", "bad", true); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := a.Check("alice", "pw", true); err != nil {
		t.Fatalf("alice: %v", err)
	}
	p, err := a.Check("", "", false)
	if err != nil || !p.CanPublish([]byte("guest.x")) || p.CanPublish([]byte("other")) {
		t.Fatalf("anonymous: %v, %v", p, err)
	}

	if _, err := a.PrepareReload(auth.Config{Users: cfg.Users[:1]}); err == nil {
		t.Fatal("reload without the no_auth_user accepted")
	}
	next := guestConf("other")
	apply, err := a.PrepareReload(next)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := a.Check("", "", false); !p.CanPublish([]byte("guest.x")) {
		t.Fatal("reload in force before apply")
	}
	live.set(next)
	apply()
	if p, err := a.Check("", "", false); err != nil || p.CanPublish([]byte("guest.x")) || !p.CanPublish([]byte("other")) {
		t.Fatalf("anonymous after reload: %v, %v", p, err)
	}

	if _, err := NewAuth(live, auth.Config{}, "nobody"); err == nil {
		t.Fatal("unknown no_auth_user accepted")
	}
}

// TestAuthRefusesAccountUsers pins that a user of an account other than
// the global one cannot log in over MQTT: the listener publishes in the
// global account, so letting them in would break the account's isolation.
func TestAuthRefusesAccountUsers(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{
		{Username: "alice", Password: "pw"},
		{Username: "tenant", Password: "tpw", Account: "A"},
	}}
	a, err := NewAuth(newLiveAuth(t, cfg), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check("alice", "pw", true); err != nil {
		t.Fatalf("global user refused: %v", err)
	}
	if _, err := a.Check("tenant", "tpw", true); !errors.Is(err, auth.ErrAuthorization) {
		t.Fatalf("user of account A: %v, want ErrAuthorization", err)
	}
	inA, err := NewAccountAuth(newLiveAuth(t, cfg), cfg, "", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inA.Check("tenant", "tpw", true); err != nil {
		t.Fatalf("account A's user refused by a listener in A: %v", err)
	}
	if _, err := inA.Check("alice", "pw", true); !errors.Is(err, auth.ErrAuthorization) {
		t.Fatalf("global user on a listener in A: %v, want ErrAuthorization", err)
	}
}
