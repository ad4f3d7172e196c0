package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nkeys"
)

// ErrAuthorization reports credentials that do not authenticate. Errors
// returned by Authenticate wrap it with the reason, for logs; a client is
// only ever told "Authorization Violation".
var ErrAuthorization = errors.New("auth: authorization violation")

// DefaultTimeout bounds the time to a valid CONNECT when Config.Timeout is
// zero (nats-server's default).
const DefaultTimeout = 2 * time.Second

// Credentials are the authentication fields of a CONNECT.
type Credentials struct {
	Token    string
	Username string
	Password string
	// Nkey is the user's public nkey and Signature the base64 (RawURL or
	// standard) encoded ed25519 signature of the INFO nonce.
	Nkey      string
	Signature string
}

// Identity is who a connection authenticated as.
type Identity struct {
	// Name is the username or the nkey public key; empty with token
	// authentication or when no authorization is configured.
	Name string
	// Perms are the user's permissions; nil means everything is allowed.
	Perms *Checker
	// Account is the user's account (User.Account); empty is the global
	// account.
	Account string
}

// Authenticator checks CONNECT credentials against a Config. It is
// immutable after New and safe for concurrent use.
type Authenticator struct {
	timeout  time.Duration
	required bool

	token      string
	user, pass string // the single user of authorization { user, password }

	users map[string]*account // by username
	nkeys map[string]*account // by public nkey
	// noAuth is the account of connections without credentials, if any.
	noAuth *account
}

// account is one entry of Config.Users, compiled.
type account struct {
	name     string
	password string
	key      nkeys.KeyPair // public key of an nkey user
	perms    *Checker
	acc      string // User.Account
}

// New validates cfg (see Config.Validate) and compiles it.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		timeout:  cfg.Timeout,
		token:    cfg.Token,
		user:     cfg.Username,
		pass:     cfg.Password,
		required: cfg.Token != "" || cfg.Username != "" || len(cfg.Users) > 0,
	}
	if a.timeout == 0 {
		a.timeout = DefaultTimeout
	}
	defaults, err := NewChecker(cfg.DefaultPermissions)
	if err != nil {
		return nil, fmt.Errorf("compile default permissions: %w", err)
	}
	for i, u := range cfg.Users {
		acc := &account{name: u.Username, password: u.Password, acc: u.Account}
		if u.Account == "" {
			acc.perms = defaults
		}
		if u.Permissions != nil {
			if acc.perms, err = NewChecker(u.Permissions); err != nil {
				return nil, fmt.Errorf("compile permissions of users[%d]: %w", i, err)
			}
		}
		if u.Nkey != "" {
			acc.name = u.Nkey
			if acc.key, err = nkeys.FromPublicKey(u.Nkey); err != nil {
				return nil, fmt.Errorf("decode nkey of users[%d]: %w", i, err)
			}
			if a.nkeys == nil {
				a.nkeys = make(map[string]*account)
			}
			a.nkeys[u.Nkey] = acc
		} else {
			if a.users == nil {
				a.users = make(map[string]*account)
			}
			a.users[u.Username] = acc
		}
		if acc.name == cfg.NoAuthUser {
			a.noAuth = acc
		}
	}
	return a, nil
}

// Required reports whether clients must authenticate.
func (a *Authenticator) Required() bool { return a.required }

// NonceRequired reports whether INFO must carry a nonce (nkey users exist).
func (a *Authenticator) NonceRequired() bool { return len(a.nkeys) > 0 }

// Timeout is the time a client has to send a valid CONNECT.
func (a *Authenticator) Timeout() time.Duration { return a.timeout }

// Users returns the names (usernames and nkey public keys) that can
// authenticate, sorted. It is empty with token authentication.
func (a *Authenticator) Users() []string {
	var names []string
	if a.user != "" {
		names = append(names, a.user)
	}
	for n := range a.users {
		names = append(names, n)
	}
	for n := range a.nkeys {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Authenticate checks a CONNECT's credentials, in nats-server's order.
// nonce is the nonce sent in INFO (nil when none). A connection that
// presents no token, user or password (and no nkey, when nkey users exist)
// is the NoAuthUser, if one is configured. It returns an error wrapping
// ErrAuthorization on failure.
//
// To re-check connections after a reload, call Authenticate of the new
// Authenticator with each connection's stored Credentials and nonce.
func (a *Authenticator) Authenticate(c Credentials, nonce []byte) (*Identity, error) {
	switch {
	case !a.required:
		return &Identity{}, nil
	case a.token != "":
		if !comparePassword(a.token, c.Token) {
			return nil, fmt.Errorf("%w: bad token", ErrAuthorization)
		}
		return &Identity{}, nil
	case a.user != "":
		if c.Username != a.user || !comparePassword(a.pass, c.Password) {
			return nil, fmt.Errorf("%w: bad user or password for %q", ErrAuthorization, c.Username)
		}
		return &Identity{Name: a.user}, nil
	}
	anonymous := c.Token == "" && c.Username == "" && c.Password == ""
	if len(a.nkeys) > 0 {
		if anonymous && c.Nkey == "" && a.noAuth != nil && a.noAuth.key != nil {
			return a.noAuth.identity(), nil
		}
		if c.Nkey != "" {
			acc := a.nkeys[c.Nkey]
			if acc == nil {
				return nil, fmt.Errorf("%w: unknown nkey %q", ErrAuthorization, c.Nkey)
			}
			// nats-server waives the signature for the no_auth_user's key.
			if acc != a.noAuth {
				if err := verifySignature(acc.key, nonce, c.Signature); err != nil {
					return nil, fmt.Errorf("%w: nkey %q: %w", ErrAuthorization, c.Nkey, err)
				}
			}
			return acc.identity(), nil
		}
	}
	if len(a.users) > 0 {
		if anonymous && a.noAuth != nil && a.noAuth.key == nil {
			return a.noAuth.identity(), nil
		}
		if acc := a.users[c.Username]; acc != nil && c.Username != "" {
			if !comparePassword(acc.password, c.Password) {
				return nil, fmt.Errorf("%w: bad password for user %q", ErrAuthorization, c.Username)
			}
			return acc.identity(), nil
		}
		if c.Username != "" {
			return nil, fmt.Errorf("%w: unknown user %q", ErrAuthorization, c.Username)
		}
	}
	return nil, fmt.Errorf("%w: no matching credentials", ErrAuthorization)
}

func (acc *account) identity() *Identity {
	return &Identity{Name: acc.name, Perms: acc.perms, Account: acc.acc}
}

// verifySignature checks sig, the base64 signature of nonce by key. nats.go
// sends RawURL encoding; standard encoding is accepted as nats-server does.
func verifySignature(key nkeys.KeyPair, nonce []byte, sig string) error {
	if sig == "" {
		return errors.New("signature missing")
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return errors.New("signature is not base64")
		}
	}
	if err := key.Verify(nonce, raw); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	return nil
}

// NoAuthUser names the user that connections without credentials become,
// or is empty when there is none.
func (a *Authenticator) NoAuthUser() string {
	if a.noAuth == nil {
		return ""
	}
	return a.noAuth.name
}
