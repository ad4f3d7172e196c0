package auth

import "time"

// Config is the authorization block of the configuration, in the shape
// nats-server users know. The zero value means "no authorization".
type Config struct {
	// Token is a single shared token (authorization { token: ... }).
	Token string
	// Username and Password form a single user (authorization { user, password }).
	// Password may be a bcrypt hash ("$2a$...").
	Username string
	Password string
	// Users lists several users, each with a password or an nkey.
	Users []User
	// Timeout bounds the time between accepting a connection and a valid CONNECT.
	// Zero means the default (2s, as nats-server).
	Timeout time.Duration
	// NoAuthUser names the user (a username, or an nkey user's public key)
	// a connection that presents no credentials is treated as.
	NoAuthUser string
	// DefaultPermissions apply to every entry of Users in the global
	// account that has no Permissions of its own (authorization {
	// permissions: ... }); an account's users get their account's.
	DefaultPermissions *Permissions
}

// User is one entry of authorization { users = [...] }.
type User struct {
	// Username is empty for nkey users.
	Username string
	// Password is plain text or a bcrypt hash ("$2a$", "$2b$", "$2y$").
	Password string
	// Nkey is a user public nkey ("U...") authenticated by signing the nonce.
	Nkey string
	// Permissions restrict what this user may publish and subscribe to; nil allows all.
	Permissions *Permissions
	// Account names the account the user belongs to (accounts { A: {
	// users: [...] } }); empty means the global account. The
	// Authenticator only reports it: the broker checks that it exists.
	Account string
}

// Permissions are a user's publish and subscribe rights.
type Permissions struct {
	Publish   *SubjectPermission
	Subscribe *SubjectPermission
}

// SubjectPermission is an allow list and a deny list of subjects (wildcards allowed).
// An empty allow list allows everything not denied. Subscribe entries may
// carry a queue group after a space ("orders.> workers"); such an entry only
// concerns queue subscriptions (see doc.go).
type SubjectPermission struct {
	Allow []string
	Deny  []string
}
