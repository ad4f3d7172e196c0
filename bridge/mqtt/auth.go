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
// that reloads apply to MQTT clients too. Only users of the global account
// may log in: the listener's sessions live there. With the mqtt block's
// no_auth_user, a connection without credentials becomes that user, looked
// up in the same authorization (rebuilt on reload by PrepareReload).
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
func (a *Auth) Check(user, pass string, hasUser bool) (Permissions, error) {
	authn := a.live.Authenticator()
	if anon := a.anon.Load(); anon != nil && !hasUser {
		authn = anon
	}
	id, err := authn.Authenticate(auth.Credentials{Username: user, Password: pass}, nil)
	if err != nil {
		return nil, err
	}
	if id.Account != "" {
		// The listener publishes in the global account: a user of
		// another account would escape its subject space.
		return nil, fmt.Errorf("%w: user %q is in account %q; MQTT serves the global account only",
			auth.ErrAuthorization, id.Name, id.Account)
	}
	return id.Perms, nil
}
