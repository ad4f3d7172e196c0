package mqtt

import (
	"cmp"
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
// that reloads apply to MQTT clients too. Only users of the listener's
// account (the global one by default) may log in: its sessions live there. With the mqtt block's
// no_auth_user, a connection without credentials becomes that user, looked
// up in the same authorization (rebuilt on reload by PrepareReload).
type Auth struct {
	live       LiveAuth
	noAuthUser string
	account    string // the listener's account; "" is the global one
	// anon authenticates connections without credentials; nil without
	// no_auth_user.
	anon atomic.Pointer[auth.Authenticator]
}

// NewAuth checks noAuthUser against cfg, the authorization live holds now,
// for a listener in the global account.
func NewAuth(live LiveAuth, cfg auth.Config, noAuthUser string) (*Auth, error) {
	return NewAccountAuth(live, cfg, noAuthUser, "")
}

// NewAccountAuth is NewAuth for a listener in account ("" or "$G": the
// global account): only that account's users may log in.
func NewAccountAuth(live LiveAuth, cfg auth.Config, noAuthUser, account string) (*Auth, error) {
	if account == "$G" {
		account = ""
	}
	a := &Auth{live: live, noAuthUser: noAuthUser, account: account}
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
	if id.Account != a.account {
		// The listener publishes in its own account: a user of another
		// would escape that account's subject space.
		return nil, fmt.Errorf("%w: user %q is in account %q; the MQTT listener serves %q",
			auth.ErrAuthorization, id.Name, cmp.Or(id.Account, "$G"), cmp.Or(a.account, "$G"))
	}
	return id.Perms, nil
}
