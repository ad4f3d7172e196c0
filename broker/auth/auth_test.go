package auth

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

// testKeys holds key pairs and signatures shared by the tests.
type testKeys struct {
	user, foreign nkeys.KeyPair
	userPub       string
	foreignPub    string
	nonce         []byte
	sig           string // user's signature of nonce, RawURL
	sigStd        string // the same, standard base64
	foreignSig    string // foreign key's signature of nonce
	otherNonceSig string // user's signature of another nonce
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	var k testKeys
	var err error
	if k.user, err = nkeys.CreateUser(); err != nil {
		t.Fatal(err)
	}
	if k.foreign, err = nkeys.CreateUser(); err != nil {
		t.Fatal(err)
	}
	k.userPub, _ = k.user.PublicKey()
	k.foreignPub, _ = k.foreign.PublicKey()
	k.nonce = []byte(NewNonce())
	sign := func(kp nkeys.KeyPair, nonce []byte, enc *base64.Encoding) string {
		raw, err := kp.Sign(nonce)
		if err != nil {
			t.Fatal(err)
		}
		return enc.EncodeToString(raw)
	}
	k.sig = sign(k.user, k.nonce, base64.RawURLEncoding)
	k.sigStd = sign(k.user, k.nonce, base64.StdEncoding)
	k.foreignSig = sign(k.foreign, k.nonce, base64.RawURLEncoding)
	k.otherNonceSig = sign(k.user, []byte(NewNonce()), base64.RawURLEncoding)
	return k
}

func bcryptHash(t *testing.T, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestAuthenticate(t *testing.T) {
	k := newTestKeys(t)
	hash := bcryptHash(t, "s3cret")
	perms := &Permissions{Publish: &SubjectPermission{Allow: []string{"telemetry.>"}}}

	usersCfg := Config{Users: []User{
		{Username: "bob", Password: "pw"},
		{Username: "carol", Password: hash, Permissions: perms},
		{Nkey: k.userPub, Permissions: perms},
	}}
	withNoAuth := usersCfg
	withNoAuth.NoAuthUser = "bob"
	withNkeyNoAuth := usersCfg
	withNkeyNoAuth.NoAuthUser = k.userPub
	nkeysOnly := Config{Users: []User{{Nkey: k.userPub}}}

	type tcase struct {
		name     string
		creds    Credentials
		nonce    []byte
		wantName string // "" with wantOK means an anonymous identity
		wantOK   bool
		perms    bool // identity has a permission checker
	}
	tests := []struct {
		name  string
		cfg   Config
		cases []tcase
	}{
		{"none", Config{}, []tcase{
			{name: "anything", creds: Credentials{Username: "x", Password: "y"}, wantOK: true},
			{name: "nothing", wantOK: true},
		}},
		{"token", Config{Token: "tok"}, []tcase{
			{name: "ok", creds: Credentials{Token: "tok"}, wantOK: true},
			{name: "bad", creds: Credentials{Token: "tok2"}},
			{name: "prefix", creds: Credentials{Token: "to"}},
			{name: "missing", creds: Credentials{Username: "tok", Password: "tok"}},
		}},
		{"token bcrypt", Config{Token: hash}, []tcase{
			{name: "ok", creds: Credentials{Token: "s3cret"}, wantOK: true},
			{name: "bad", creds: Credentials{Token: "nope"}},
			{name: "hash itself", creds: Credentials{Token: hash}},
		}},
		{"single user", Config{Username: "alice", Password: "pw"}, []tcase{
			{name: "ok", creds: Credentials{Username: "alice", Password: "pw"}, wantName: "alice", wantOK: true},
			{name: "bad password", creds: Credentials{Username: "alice", Password: "pw2"}},
			{name: "bad user", creds: Credentials{Username: "bob", Password: "pw"}},
			{name: "empty", creds: Credentials{}},
		}},
		{"single user bcrypt", Config{Username: "alice", Password: hash}, []tcase{
			{name: "ok", creds: Credentials{Username: "alice", Password: "s3cret"}, wantName: "alice", wantOK: true},
			{name: "bad", creds: Credentials{Username: "alice", Password: "s3cre"}},
		}},
		{"users", usersCfg, []tcase{
			{name: "plain ok", creds: Credentials{Username: "bob", Password: "pw"}, wantName: "bob", wantOK: true},
			{name: "plain bad", creds: Credentials{Username: "bob", Password: "PW"}},
			{name: "bcrypt ok", creds: Credentials{Username: "carol", Password: "s3cret"}, wantName: "carol", wantOK: true, perms: true},
			{name: "bcrypt bad", creds: Credentials{Username: "carol", Password: "pw"}},
			{name: "unknown user", creds: Credentials{Username: "dave", Password: "pw"}},
			{name: "no credentials", creds: Credentials{}},
			{name: "nkey ok", creds: Credentials{Nkey: k.userPub, Signature: k.sig}, nonce: k.nonce, wantName: k.userPub, wantOK: true, perms: true},
			{name: "nkey std base64", creds: Credentials{Nkey: k.userPub, Signature: k.sigStd}, nonce: k.nonce, wantName: k.userPub, wantOK: true, perms: true},
			{name: "nkey other nonce", creds: Credentials{Nkey: k.userPub, Signature: k.otherNonceSig}, nonce: k.nonce},
			{name: "nkey foreign signature", creds: Credentials{Nkey: k.userPub, Signature: k.foreignSig}, nonce: k.nonce},
			{name: "foreign nkey", creds: Credentials{Nkey: k.foreignPub, Signature: k.foreignSig}, nonce: k.nonce},
			{name: "nkey garbage signature", creds: Credentials{Nkey: k.userPub, Signature: "!!not base64!!"}, nonce: k.nonce},
			{name: "nkey short signature", creds: Credentials{Nkey: k.userPub, Signature: "AAAA"}, nonce: k.nonce},
			{name: "nkey no signature", creds: Credentials{Nkey: k.userPub}, nonce: k.nonce},
			{name: "nkey no nonce", creds: Credentials{Nkey: k.userPub, Signature: k.sig}},
			// An nkey in CONNECT selects the nkey user even if a user/password is also sent.
			{name: "nkey wins over user", creds: Credentials{Username: "bob", Password: "pw", Nkey: k.foreignPub}, nonce: k.nonce},
		}},
		{"no_auth_user", withNoAuth, []tcase{
			{name: "anonymous", creds: Credentials{}, wantName: "bob", wantOK: true},
			{name: "other user", creds: Credentials{Username: "carol", Password: "s3cret"}, wantName: "carol", wantOK: true, perms: true},
			{name: "bad password is not anonymous", creds: Credentials{Password: "x"}},
			{name: "bad token is not anonymous", creds: Credentials{Token: "x"}},
			{name: "wrong password", creds: Credentials{Username: "bob", Password: "x"}},
			{name: "unknown nkey", creds: Credentials{Nkey: k.foreignPub, Signature: k.foreignSig}, nonce: k.nonce},
		}},
		{"no_auth_user nkey", withNkeyNoAuth, []tcase{
			{name: "anonymous", creds: Credentials{}, wantName: k.userPub, wantOK: true, perms: true},
			// nats-server waives the signature for the no_auth_user's own key.
			{name: "own key unsigned", creds: Credentials{Nkey: k.userPub}, wantName: k.userPub, wantOK: true, perms: true},
			{name: "user still works", creds: Credentials{Username: "bob", Password: "pw"}, wantName: "bob", wantOK: true},
		}},
		{"nkeys only", nkeysOnly, []tcase{
			{name: "ok", creds: Credentials{Nkey: k.userPub, Signature: k.sig}, nonce: k.nonce, wantName: k.userPub, wantOK: true},
			{name: "user", creds: Credentials{Username: "bob", Password: "pw"}},
			{name: "nothing", creds: Credentials{}},
		}},
	}
	for _, tt := range tests {
		a, err := New(tt.cfg)
		if err != nil {
			t.Fatalf("%s: New: %v", tt.name, err)
		}
		for _, tc := range tt.cases {
			t.Run(tt.name+"/"+tc.name, func(t *testing.T) {
				id, err := a.Authenticate(tc.creds, tc.nonce)
				if !tc.wantOK {
					if !errors.Is(err, ErrAuthorization) || id != nil {
						t.Fatalf("Authenticate = %+v, %v; want ErrAuthorization", id, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if id.Name != tc.wantName || (id.Perms != nil) != tc.perms {
					t.Fatalf("identity = %+v, want name %q, perms %v", id, tc.wantName, tc.perms)
				}
				if id.Perms != nil && id.Perms.CanPublish([]byte("cmd.x")) {
					t.Fatal("restricted identity may publish to cmd.x")
				}
			})
		}
	}
}

func TestAuthenticatorProperties(t *testing.T) {
	k := newTestKeys(t)
	tests := []struct {
		name     string
		cfg      Config
		required bool
		nonce    bool
		timeout  time.Duration
		users    []string
	}{
		{"none", Config{}, false, false, DefaultTimeout, nil},
		{"token", Config{Token: "t", Timeout: time.Second}, true, false, time.Second, nil},
		{"single", Config{Username: "a", Password: "b"}, true, false, DefaultTimeout, []string{"a"}},
		{"users", Config{Users: []User{{Username: "z"}, {Username: "b", Password: "x"}}}, true, false, DefaultTimeout, []string{"b", "z"}},
		{"nkeys", Config{Users: []User{{Nkey: k.userPub}, {Username: "b"}}}, true, true, DefaultTimeout, []string{k.userPub, "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if a.Required() != tt.required || a.NonceRequired() != tt.nonce || a.Timeout() != tt.timeout {
				t.Fatalf("Required %v NonceRequired %v Timeout %v; want %v %v %v",
					a.Required(), a.NonceRequired(), a.Timeout(), tt.required, tt.nonce, tt.timeout)
			}
			want := slices.Clone(tt.users)
			slices.Sort(want)
			if got := a.Users(); !slices.Equal(got, want) {
				t.Fatalf("Users() = %v, want %v", got, want)
			}
		})
	}
}

func TestDefaultPermissions(t *testing.T) {
	a, err := New(Config{
		Users: []User{
			{Username: "plain", Password: "pw"},
			{Username: "own", Password: "pw", Permissions: &Permissions{Publish: &SubjectPermission{Allow: []string{"own.>"}}}},
		},
		DefaultPermissions: &Permissions{Publish: &SubjectPermission{Allow: []string{"default.>"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, subject string
		want          bool
	}{
		{"plain", "default.x", true},
		{"plain", "own.x", false},
		{"own", "own.x", true},
		{"own", "default.x", false},
	}
	for _, tt := range tests {
		id, err := a.Authenticate(Credentials{Username: tt.user, Password: "pw"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := id.Perms.CanPublish([]byte(tt.subject)); got != tt.want {
			t.Errorf("%s may publish %q = %v, want %v", tt.user, tt.subject, got, tt.want)
		}
	}
}

// TestReauthenticateAfterReload pins how the broker re-checks connections on
// reload: stored credentials and nonce against the new Authenticator.
func TestReauthenticateAfterReload(t *testing.T) {
	k := newTestKeys(t)
	old, err := New(Config{Users: []User{
		{Username: "stays", Password: "pw"},
		{Username: "removed", Password: "pw"},
		{Username: "rotated", Password: "pw"},
		{Nkey: k.userPub},
	}})
	if err != nil {
		t.Fatal(err)
	}
	conns := []struct {
		creds Credentials
		nonce []byte
		keeps bool
	}{
		{Credentials{Username: "stays", Password: "pw"}, nil, true},
		{Credentials{Username: "removed", Password: "pw"}, nil, false},
		{Credentials{Username: "rotated", Password: "pw"}, nil, false},
		{Credentials{Nkey: k.userPub, Signature: k.sig}, k.nonce, true},
	}
	for _, c := range conns {
		if _, err := old.Authenticate(c.creds, c.nonce); err != nil {
			t.Fatalf("before reload %+v: %v", c.creds, err)
		}
	}
	reloaded, err := New(Config{Users: []User{
		{Username: "stays", Password: "pw", Permissions: &Permissions{Publish: &SubjectPermission{Deny: []string{">"}}}},
		{Username: "rotated", Password: "new"},
		{Nkey: k.userPub},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		id, err := reloaded.Authenticate(c.creds, c.nonce)
		if (err == nil) != c.keeps {
			t.Errorf("after reload %q%q: err %v, want kept %v", c.creds.Username, c.creds.Nkey, err, c.keeps)
		}
		if c.creds.Username == "stays" && id != nil && id.Perms.CanPublish([]byte("x")) {
			t.Error("new permissions not applied after reload")
		}
	}
}

func TestValidate(t *testing.T) {
	k := newTestKeys(t)
	tests := []struct {
		name string
		cfg  Config
		want []string // one substring per expected problem
	}{
		{"zero", Config{}, nil},
		{"token and user", Config{Token: "t", Username: "u", Password: "p"}, []string{"token cannot be combined with user/password"}},
		{"token and password", Config{Token: "t", Password: "p"}, []string{"token cannot be combined"}},
		{"password alone", Config{Password: "p"}, []string{"password is set without user"}},
		{"negative timeout", Config{Timeout: -time.Second}, []string{"timeout -1s is negative"}},
		{"single user and users", Config{Username: "u", Users: []User{{Username: "v"}}}, []string{"users cannot be combined with a single user"}},
		{"token and users", Config{Token: "t", Users: []User{{Username: "v"}}}, []string{"users cannot be combined with a token"}},
		{"empty user", Config{Users: []User{{Password: "x"}}}, []string{"users[0]: needs a user or an nkey"}},
		{"duplicate user", Config{Users: []User{{Username: "a"}, {Username: "b"}, {Username: "a"}}}, []string{`users[2] "a": duplicate of users[0]`}},
		{"duplicate nkey", Config{Users: []User{{Nkey: k.userPub}, {Nkey: k.userPub}}}, []string{`duplicate of users[0]`}},
		{"bad nkey", Config{Users: []User{{Nkey: "UNOTAKEY"}}}, []string{`users[0] "UNOTAKEY": not a valid user public nkey`}},
		{"seed as nkey", Config{Users: []User{{Nkey: seed(t, k.user)}}}, []string{"not a valid user public nkey"}},
		{"account key as nkey", Config{Users: []User{{Nkey: accountKey(t)}}}, []string{"not a valid user public nkey"}},
		{"nkey with password", Config{Users: []User{{Nkey: k.userPub, Password: "x"}}}, []string{"an nkey user takes no user or password"}},
		{"nkey with user", Config{Users: []User{{Nkey: k.userPub, Username: "x"}}}, []string{"an nkey user takes no user or password"}},
		{"bad permissions", Config{Users: []User{{Username: "a", Permissions: &Permissions{
			Publish:   &SubjectPermission{Allow: []string{"a.>.b"}},
			Subscribe: &SubjectPermission{Deny: []string{"x y z"}},
		}}}}, []string{`users[0] "a" permissions: auth: invalid permission: publish.allow[0] "a.>.b"`, `subscribe.deny[0] "x y z"`}},
		{"bad default permissions", Config{Users: []User{{Username: "a"}}, DefaultPermissions: &Permissions{
			Publish: &SubjectPermission{Deny: []string{"a q"}},
		}}, []string{`default permissions: auth: invalid permission: publish.deny[0] "a q"`}},
		{"no_auth_user without users", Config{NoAuthUser: "a", Username: "a"}, []string{`no_auth_user "a" is set but no users are defined`}},
		{"no_auth_user unknown", Config{NoAuthUser: "z", Users: []User{{Username: "a"}}}, []string{`no_auth_user "z" is not among the users`}},
		{"no_auth_user nkey", Config{NoAuthUser: k.userPub, Users: []User{{Nkey: k.userPub}}}, nil},
		{"many at once", Config{Token: "t", Username: "u", Users: []User{{}, {Nkey: "bad"}}, NoAuthUser: "x"}, []string{
			"token cannot be combined", "users cannot be combined with a single user", "users cannot be combined with a token",
			"users[0]: needs a user", `users[1] "bad": not a valid`, `no_auth_user "x" is not among`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			_, newErr := New(tt.cfg)
			if (err == nil) != (newErr == nil) {
				t.Fatalf("Validate() = %v but New() = %v", err, newErr)
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want ErrConfig", err)
			}
			if n := countJoined(err); n != len(tt.want) {
				t.Errorf("%d problems, want %d: %v", n, len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func seed(t *testing.T, kp nkeys.KeyPair) string {
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func accountKey(t *testing.T) string {
	kp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return pub
}

func TestNewNonce(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		n := NewNonce()
		raw, err := base64.RawURLEncoding.DecodeString(n)
		if len(n) != 15 || err != nil || len(raw) != 11 {
			t.Fatalf("nonce %q: len %d, decoded %d bytes, err %v", n, len(n), len(raw), err)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
}

func TestIsBcrypt(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"$2a$10$abc", true},
		{"$2b$04$", true},
		{"$2x$11$x", true},
		{"$2y$12$x", true},
		{"$2c$10$x", false},
		{"$2a$1$x", false},
		{"$2a$ab$x", false},
		{"$2a$10", false},
		{"2a$10$x", false},
		{"plain", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isBcrypt(tt.s); got != tt.want {
			t.Errorf("isBcrypt(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
