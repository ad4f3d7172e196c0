package mqtt

import (
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
	l, err := a.Check("", "", false)
	if p := l.Perms; err != nil || !p.CanPublish([]byte("guest.x")) || p.CanPublish([]byte("other")) {
		t.Fatalf("anonymous: %v, %v", l.Perms, err)
	}

	if _, err := a.PrepareReload(auth.Config{Users: cfg.Users[:1]}); err == nil {
		t.Fatal("reload without the no_auth_user accepted")
	}
	next := guestConf("other")
	apply, err := a.PrepareReload(next)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := a.Check("", "", false); !l.Perms.CanPublish([]byte("guest.x")) {
		t.Fatal("reload in force before apply")
	}
	live.set(next)
	apply()
	if l, err := a.Check("", "", false); err != nil || l.Perms.CanPublish([]byte("guest.x")) || !l.Perms.CanPublish([]byte("other")) {
		t.Fatalf("anonymous after reload: %v, %v", l, err)
	}

	if _, err := NewAuth(live, auth.Config{}, "nobody"); err == nil {
		t.Fatal("unknown no_auth_user accepted")
	}
}

// TestAuthLoginAccount pins the account a login lands in: a user's own
// account, "$G" for a user outside the accounts block, the listener's
// (empty) without a user of its own; the no_auth_user may be in any
// account.
func TestAuthLoginAccount(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{
		{Username: "alice", Password: "pw"},
		{Username: "tenant", Password: "tpw", Account: "A"},
	}}
	a, err := NewAuth(newLiveAuth(t, cfg), cfg, "tenant")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, pass string
		hasUser    bool
		want       string
	}{
		{"alice", "pw", true, "$G"},
		{"tenant", "tpw", true, "A"},
		{"", "", false, "A"},
	} {
		l, err := a.Check(tc.user, tc.pass, tc.hasUser)
		if err != nil || l.Account != tc.want {
			t.Errorf("%q: account %q, %v; want %q", tc.user, l.Account, err, tc.want)
		}
	}
	open := auth.Config{}
	anyone, err := NewAuth(newLiveAuth(t, open), open, "")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := anyone.Check("", "", false); err != nil || l.Account != "" {
		t.Fatalf("without authorization: account %q, %v; want the listener's", l.Account, err)
	}
}
