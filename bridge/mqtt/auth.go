package mqtt

import (
	"fmt"
	"sync/atomic"

	"github.com/leafbox/leafbox/broker/auth"
)

// LiveAuth is the broker's authorization as it stands now: a reload
// replaces the Authenticator it returns.
type LiveAuth interface {
	Authenticator() *auth.Authenticator
}

// Auth checks MQTT credentials against the broker's live authorization, so
// that reloads apply to MQTT clients too. A user logs in to its own
// account ("$G" for users outside the accounts block), as with
// nats-server's MQTT; a connection without a user of its own (no
// authorization, or a token) logs in to the listener's account. With the
// mqtt block's no_auth_user, a connection without credentials becomes that
// user, looked up in the same authorization (rebuilt on reload by
// PrepareReload).
type Auth struct {
	live       LiveAuth
	noAuthUser string
	// anon authenticates connections without credentials; nil without
	// no_auth_user.
	anon atomic.Pointer[auth.Authenticator]
}

// NewAuth checks noAuthUser against cfg, the authorization live holds now.
func NewAuth(live LiveAuth, cfg auth.Config, noAuthUser string) (*Auth, error) {
	a := &Auth{live: live, noAuthUser: noAuthUser}
	anon, err := a.anonFor(cfg)
	if err != nil {
		return nil, err
	}
	a.anon.Store(anon)
	return a, nil
}

// anonFor builds the no_auth_user authenticator for cfg (nil without one).
func (a *Auth) anonFor(cfg auth.Config) (*auth.Authenticator, error) {
	if a.noAuthUser == "" {
		return nil, nil
	}
	cfg.NoAuthUser = a.noAuthUser
	anon, err := auth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("mqtt no_auth_user: %w", err)
	}
	return anon, nil
}

// PrepareReload checks the reloaded authorization cfg; apply, called once
// the broker took cfg, puts the no_auth_user of cfg in force. The caller
// then calls Listener.Reauthorize.
func (a *Auth) PrepareReload(cfg auth.Config) (apply func(), err error) {
	anon, err := a.anonFor(cfg)
	if err != nil {
		return nil, err
	}
	return func() { a.anon.Store(anon) }, nil
}

// Check is the listener's AuthFunc.
func (a *Auth) Check(user, pass string, hasUser bool) (Login, error) {
	authn := a.live.Authenticator()
	if anon := a.anon.Load(); anon != nil && !hasUser {
		authn = anon
	}
	id, err := authn.Authenticate(auth.Credentials{Username: user, Password: pass}, nil)
	if err != nil {
		return Login{}, err
	}
	l := Login{Account: id.Account}
	if id.Perms != nil {
		// A nil *auth.Checker in the interface would not compare nil.
		l.Perms = id.Perms
	}
	if l.Account == "" && id.Name != "" {
		l.Account = globalAccount
	}
	return l, nil
}
