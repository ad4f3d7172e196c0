package auth

import (
	"errors"
	"fmt"

	"github.com/nats-io/nkeys"
)

// ErrConfig reports an invalid authorization configuration.
var ErrConfig = errors.New("auth: invalid config")

// Validate reports every problem of c at once (errors.Join), each naming
// the field or user at fault and wrapping ErrConfig. It rejects the
// combinations nats-server rejects, and one more: a password without a user
// (nats-server then silently runs without authorization).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Timeout < 0 {
		bad("timeout %v is negative", c.Timeout)
	}
	if c.Token != "" && (c.Username != "" || c.Password != "") {
		bad("token cannot be combined with user/password")
	}
	if c.Password != "" && c.Username == "" && c.Token == "" {
		bad("password is set without user")
	}
	if len(c.Users) > 0 {
		if c.Username != "" {
			bad("users cannot be combined with a single user/password")
		}
		if c.Token != "" {
			bad("users cannot be combined with a token")
		}
	}
	seen := make(map[string]int, len(c.Users))
	for i, u := range c.Users {
		name := u.Username
		if u.Nkey != "" {
			name = u.Nkey
		}
		switch {
		case u.Username == "" && u.Nkey == "":
			bad("users[%d]: needs a user or an nkey", i)
		case u.Nkey != "" && (u.Username != "" || u.Password != ""):
			bad("users[%d] %q: an nkey user takes no user or password", i, name)
		case u.Nkey != "" && !nkeys.IsValidPublicUserKey(u.Nkey):
			bad("users[%d] %q: not a valid user public nkey", i, name)
		}
		if name != "" {
			if j, dup := seen[name]; dup {
				bad("users[%d] %q: duplicate of users[%d]", i, name, j)
			} else {
				seen[name] = i
			}
		}
		if u.Permissions != nil {
			for _, err := range permissionProblems(u.Permissions) {
				errs = append(errs, fmt.Errorf("%w: users[%d] %q permissions: %w", ErrConfig, i, name, err))
			}
		}
	}
	if c.DefaultPermissions != nil {
		for _, err := range permissionProblems(c.DefaultPermissions) {
			errs = append(errs, fmt.Errorf("%w: default permissions: %w", ErrConfig, err))
		}
	}
	if c.NoAuthUser != "" {
		if len(c.Users) == 0 {
			bad("no_auth_user %q is set but no users are defined", c.NoAuthUser)
		} else if _, ok := seen[c.NoAuthUser]; !ok {
			bad("no_auth_user %q is not among the users", c.NoAuthUser)
		}
	}
	return errors.Join(errs...)
}
