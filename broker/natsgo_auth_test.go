package broker_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

// nkeyUser makes an nkey user key pair and the nats.go option that signs
// the server's nonce with it.
func nkeyUser(t testing.TB) (pub string, opt nats.Option) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err = kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, nats.Nkey(pub, kp.Sign)
}

func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestNatsGoAuth(t *testing.T) {
	t.Parallel()
	nkeyPub, nkeyOpt := nkeyUser(t)
	// An impostor claims nkeyPub but signs with another key.
	impostorKP, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	impostor := nats.Nkey(nkeyPub, impostorKP.Sign)

	tests := []struct {
		name     string
		cfg      auth.Config
		good     []nats.Option
		wantUser string // authorized_user in connz; "" to skip the check
		bad      map[string][]nats.Option
	}{
		{
			name: "token",
			cfg:  auth.Config{Token: "s3cr3t"},
			good: []nats.Option{nats.Token("s3cr3t")},
			bad: map[string][]nats.Option{
				"wrong token": {nats.Token("s3cr3")},
				"no creds":    nil,
				"user/pass":   {nats.UserInfo("s3cr3t", "s3cr3t")},
			},
		},
		{
			name:     "user and plain password",
			cfg:      auth.Config{Username: "alice", Password: "wonderland"},
			good:     []nats.Option{nats.UserInfo("alice", "wonderland")},
			wantUser: "alice",
			bad: map[string][]nats.Option{
				"wrong password": {nats.UserInfo("alice", "Wonderland")},
				"wrong user":     {nats.UserInfo("bob", "wonderland")},
				"no creds":       nil,
				"token":          {nats.Token("wonderland")},
			},
		},
		{
			name:     "user and bcrypt password",
			cfg:      auth.Config{Username: "alice", Password: bcryptHash(t, "wonderland")},
			good:     []nats.Option{nats.UserInfo("alice", "wonderland")},
			wantUser: "alice",
			bad: map[string][]nats.Option{
				"wrong password":  {nats.UserInfo("alice", "wonderlan")},
				"the hash itself": {nats.UserInfo("alice", bcryptHash(t, "wonderland"))},
			},
		},
		{
			name: "users list with bcrypt",
			cfg: auth.Config{Users: []auth.User{
				{Username: "alice", Password: "a-pass"},
				{Username: "bob", Password: bcryptHash(t, "b-pass")},
			}},
			good:     []nats.Option{nats.UserInfo("bob", "b-pass")},
			wantUser: "bob",
			bad: map[string][]nats.Option{
				"other user's password": {nats.UserInfo("bob", "a-pass")},
			},
		},
		{
			name:     "nkey",
			cfg:      auth.Config{Users: []auth.User{{Nkey: nkeyPub}}},
			good:     []nats.Option{nkeyOpt},
			wantUser: nkeyPub,
			bad: map[string][]nats.Option{
				"signed with another key": {impostor},
				"no creds":                nil,
			},
		},
		{
			name: "no_auth_user",
			cfg: auth.Config{
				Users:      []auth.User{{Username: "alice", Password: "a-pass"}, {Username: "guest", Password: "g-pass"}},
				NoAuthUser: "guest",
			},
			good:     nil, // no credentials at all
			wantUser: "guest",
			bad: map[string][]nats.Option{
				"wrong password": {nats.UserInfo("alice", "nope")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url := startBroker(t, broker.Config{Auth: tt.cfg})
			nc := natsConnect(t, url, tt.good...)
			roundTrip(t, nc, "authed")
			if tt.wantUser != "" {
				cz := srv.Connz(monitor.ConnzOptions{Username: true})
				if len(cz.Conns) != 1 || cz.Conns[0].AuthorizedUser != tt.wantUser {
					t.Errorf("connz %+v, want one connection of user %q", cz.Conns, tt.wantUser)
				}
			}
			for name, opts := range tt.bad {
				all := append([]nats.Option{nats.NoReconnect(), nats.Timeout(waitShort)}, opts...)
				bad, err := nats.Connect(url, all...)
				if err == nil {
					bad.Close()
					t.Errorf("%s: connect succeeded", name)
					continue
				}
				if !errors.Is(err, nats.ErrAuthorization) {
					t.Errorf("%s: connect error %v, want %v", name, err, nats.ErrAuthorization)
				}
			}
			// Failed attempts leave the good connection alone and are not counted as open.
			roundTrip(t, nc, "still-authed")
			testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 1 })
		})
	}
}

func TestNatsGoAuthTimeout(t *testing.T) {
	t.Parallel()
	srv, _ := startBroker(t, broker.Config{Auth: auth.Config{Token: "t", Timeout: 200 * time.Millisecond}})
	rc := dialRaw(t, srv)
	start := time.Now()
	if line := rc.readLine(); line != "-ERR 'Authentication Timeout'" {
		t.Errorf("got %q, want the authentication timeout error", line)
	}
	if d := time.Since(start); d > waitShort {
		t.Errorf("timeout came after %v", d)
	}
	rc.expectClosed()
}

func TestNatsGoPermissions(t *testing.T) {
	t.Parallel()
	users := []auth.User{
		{Username: "admin", Password: "a"},
		{Username: "denylist", Password: "d", Permissions: &auth.Permissions{
			Publish:   &auth.SubjectPermission{Deny: []string{"secret.>"}},
			Subscribe: &auth.SubjectPermission{Deny: []string{"private.>"}},
		}},
		{Username: "allowlist", Password: "l", Permissions: &auth.Permissions{
			Publish:   &auth.SubjectPermission{Allow: []string{"ok.>"}},
			Subscribe: &auth.SubjectPermission{Allow: []string{"ok.>", "_INBOX.>"}},
		}},
	}
	_, url := startBroker(t, broker.Config{Auth: auth.Config{Users: users}})
	admin := natsConnect(t, url, nats.UserInfo("admin", "a"))
	spy, err := admin.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, admin)

	tests := []struct {
		user, pass string
		op         string // "pub" or "sub"
		subject    string
		denied     bool
	}{
		{"denylist", "d", "pub", "secret.plans", true},
		{"denylist", "d", "pub", "public.news", false},
		{"denylist", "d", "sub", "private.x", true},
		{"denylist", "d", "sub", "private.>", true},
		{"denylist", "d", "sub", "public.x", false},
		{"allowlist", "l", "pub", "ok.go", false},
		{"allowlist", "l", "pub", "nope", true},
		{"allowlist", "l", "sub", "ok.x", false},
		{"allowlist", "l", "sub", "nope.x", true},
		{"allowlist", "l", "sub", ">", true},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.op+" "+tt.subject, func(t *testing.T) {
			errOpt, errs := asyncErrors()
			nc := natsConnect(t, url, nats.UserInfo(tt.user, tt.pass), errOpt)
			switch tt.op {
			case "pub":
				// The spy sees exactly what got through. Let earlier
				// subtests' messages arrive first, then discard them.
				flush(t, admin)
				for pending(t, spy) > 0 {
					nextMsg(t, spy)
				}
				if err := nc.Publish(tt.subject, []byte("data")); err != nil {
					t.Fatal(err)
				}
				nc.Flush() // may race the -ERR; the error channel decides
				if tt.denied {
					err := nextErr(t, errs)
					if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), tt.subject) {
						t.Errorf("async error %v, want a permissions violation for %s", err, tt.subject)
					}
				}
				flush(t, nc)
				flush(t, admin)
				n := pending(t, spy)
				if tt.denied && n != 0 {
					t.Errorf("denied publish was delivered")
				}
				if !tt.denied && n != 1 {
					t.Errorf("allowed publish delivered %d times", n)
				}
			case "sub":
				s, err := nc.SubscribeSync(tt.subject)
				if err != nil {
					t.Fatal(err)
				}
				flush(t, nc)
				if tt.denied {
					err := nextErr(t, errs)
					if !errors.Is(err, nats.ErrPermissionViolation) {
						t.Errorf("async error %v, want a permissions violation", err)
					}
				}
				pubSubj := strings.ReplaceAll(strings.ReplaceAll(tt.subject, ">", "x"), "*", "x")
				admin.Publish(pubSubj, []byte("for you"))
				flush(t, admin)
				flush(t, nc)
				n, _, _ := s.Pending() // a denied sub may be invalidated by nats.go
				if tt.denied && n != 0 {
					t.Errorf("denied subscription received %d messages", n)
				}
				if !tt.denied && n != 1 {
					t.Errorf("allowed subscription received %d messages", n)
				}
			}
			noErr(t, errs)
			// The connection survives a violation.
			if nc.IsClosed() || nc.Stats().Reconnects != 0 {
				t.Fatalf("connection closed or reconnected after a violation")
			}
			okSubj := "public.still-here"
			if tt.user == "allowlist" {
				okSubj = "ok.still-here"
			}
			s, err := nc.SubscribeSync(okSubj)
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Publish(okSubj, []byte("alive")); err != nil {
				t.Fatal(err)
			}
			if m := nextMsg(t, s); string(m.Data) != "alive" {
				t.Fatalf("got %q", m.Data)
			}
			noErr(t, errs)
		})
	}
}

func TestNatsGoTLS(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	serverTLS := func(verify bool) *tls.Config {
		c := &tls.Config{Certificates: []tls.Certificate{pki.Server}, MinVersion: tls.VersionTLS12}
		if verify {
			// ClientAuth is left unset on purpose: Config.TLSVerify is
			// documented to require and verify client certificates.
			c.ClientCAs = pki.Roots
		}
		return c
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pki.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	withCert := &tls.Config{RootCAs: pki.Roots, Certificates: []tls.Certificate{pki.Client}}
	tests := []struct {
		name    string
		verify  bool
		opts    []nats.Option
		wantErr string // substring of the connect error; "" means success
	}{
		{"RootCAs file", false, []nats.Option{nats.RootCAs(caFile)}, ""},
		{"Secure with pool", false, []nats.Option{nats.Secure(&tls.Config{RootCAs: pki.Roots})}, ""},
		{"unknown CA", false, []nats.Option{nats.Secure(&tls.Config{})}, "certificate"},
		{"mutual TLS", true, []nats.Option{nats.Secure(withCert)}, ""},
		// The refusal reaches the client as "certificate required" or as
		// the connection closing, depending on TLS 1.3 timing.
		{"mutual TLS without client cert", true, []nats.Option{nats.Secure(&tls.Config{RootCAs: pki.Roots})}, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url := startBroker(t, broker.Config{TLS: serverTLS(tt.verify), TLSVerify: tt.verify})
			all := append([]nats.Option{nats.NoReconnect(), nats.Timeout(waitShort)}, tt.opts...)
			nc, err := nats.Connect(url, all...)
			if tt.wantErr != "" {
				if err == nil {
					nc.Close()
					t.Fatalf("connect succeeded, want an error containing %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("connect error %q, want it to contain %q", err, tt.wantErr)
				}
				testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 0 })
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			t.Cleanup(nc.Close)
			if !nc.TLSRequired() {
				t.Error("client does not see tls_required")
			}
			roundTrip(t, nc, "tls")
			cz := srv.Connz(monitor.ConnzOptions{})
			if len(cz.Conns) != 1 || !strings.HasPrefix(cz.Conns[0].TLSVersion, "TLS 1.") || cz.Conns[0].TLSCipher == "" {
				t.Errorf("connz does not report TLS: %+v", cz.Conns)
			}
			if v := srv.Varz(); !v.TLSRequired || v.TLSVerify != tt.verify {
				t.Errorf("varz tls_required %v tls_verify %v", v.TLSRequired, v.TLSVerify)
			}
		})
	}
}

// TestNatsGoTLSPlainClient: a client that ignores tls_required and speaks
// plain text gets no service. (nats.go itself upgrades on its own.)
func TestNatsGoTLSPlainClient(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	srv, _ := startBroker(t, broker.Config{TLS: &tls.Config{Certificates: []tls.Certificate{pki.Server}}})
	rc := dialRaw(t, srv)
	rc.send("CONNECT {\"verbose\":false}\r\nPING\r\n")
	rc.conn.SetReadDeadline(time.Now().Add(waitLong))
	line, _ := rc.br.ReadString('\n')
	if strings.Contains(line, "PONG") {
		t.Fatalf("plain-text client got %q from a TLS-only server", line)
	}
	testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 0 })
}

func TestNatsGoReloadAuth(t *testing.T) {
	t.Parallel()
	users := []auth.User{
		{Username: "alice", Password: "a"},
		{Username: "bob", Password: "b"},
	}
	srv, url := startBroker(t, broker.Config{Auth: auth.Config{Users: users}})

	aliceErrOpt, aliceErrs := asyncErrors()
	alice := natsConnect(t, url, nats.UserInfo("alice", "a"), aliceErrOpt, allowReconnect, nats.MaxReconnects(-1),
		nats.ReconnectWait(10*time.Millisecond))
	bobErrOpt, bobErrs := asyncErrors()
	bob := natsConnect(t, url, nats.UserInfo("bob", "b"), bobErrOpt, allowReconnect, nats.MaxReconnects(5),
		nats.ReconnectWait(10*time.Millisecond))
	aliceSub, err := alice.SubscribeSync("news")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, alice)

	// Reload without bob; alice also loses the right to publish to admin.>.
	err = srv.ReloadAuth(auth.Config{Users: []auth.User{
		{Username: "alice", Password: "a", Permissions: &auth.Permissions{
			Publish: &auth.SubjectPermission{Deny: []string{"admin.>"}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}

	if err := nextErr(t, bobErrs); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("bob's async error %v, want %v", err, nats.ErrAuthorization)
	}
	// Bob tries to reconnect; the broker must keep refusing him. (nats.go
	// reports the refusal as the server's text, not as the sentinel.)
	testutil.WaitFor(t, waitLong, bob.IsClosed)
	if err := bob.LastError(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Errorf("bob closed with %v, want an authorization violation", err)
	}

	// Alice keeps her connection and her subscription.
	admin := natsConnect(t, url, nats.UserInfo("alice", "a"))
	if err := admin.Publish("news", []byte("still here")); err != nil {
		t.Fatal(err)
	}
	flush(t, admin)
	if m := nextMsg(t, aliceSub); string(m.Data) != "still here" {
		t.Errorf("alice got %q", m.Data)
	}
	roundTrip(t, alice, "alice")
	// Her new permissions apply without a reconnect.
	alice.Publish("admin.shutdown", nil)
	if err := nextErr(t, aliceErrs); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("alice's async error %v, want a permissions violation", err)
	}
	if st := alice.Stats(); st.Reconnects != 0 || !alice.IsConnected() {
		t.Errorf("alice reconnected %d times (connected %v)", st.Reconnects, alice.IsConnected())
	}
	noErr(t, aliceErrs)
	testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 2 })

	// Reloading to no authorization at all keeps everyone and lifts the limits.
	if err := srv.ReloadAuth(auth.Config{}); err != nil {
		t.Fatal(err)
	}
	anon := natsConnect(t, url)
	roundTrip(t, anon, "anon")
	s, err := anon.SubscribeSync("admin.>")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, anon)
	alice.Publish("admin.shutdown", []byte("now allowed"))
	if m := nextMsg(t, s); string(m.Data) != "now allowed" {
		t.Errorf("got %q", m.Data)
	}
	noErr(t, aliceErrs)
}

// TestSecurityCountersAuth pins the auth-failure counters of the paths the
// daemon test does not reach: a connection that never sends CONNECT is one
// timeout, one that publishes before CONNECT is one no_credentials, and a
// connection that authenticates in time counts nothing.
func TestSecurityCountersAuth(t *testing.T) {
	t.Parallel()
	srv, _ := startBroker(t, broker.Config{Auth: auth.Config{Token: "t", Timeout: 200 * time.Millisecond}})

	ok := dialRaw(t, srv)
	ok.connectAndPing(`{"auth_token":"t","verbose":false}`)

	idle := dialRaw(t, srv)
	if line := idle.readLine(); line != "-ERR 'Authentication Timeout'" {
		t.Fatalf("got %q, want the authentication timeout error", line)
	}
	idle.expectClosed()

	early := dialRaw(t, srv)
	early.send("PUB x 0\r\n\r\n")
	if line := early.readLine(); line != "-ERR 'Authorization Violation'" {
		t.Fatalf("got %q, want the authorization violation", line)
	}
	early.expectClosed()

	ok.send("PING\r\n") // still open well past the auth timeout
	if line := ok.readLine(); line != "PONG" {
		t.Fatalf("authenticated connection: got %q, want PONG", line)
	}
	sec := srv.Varz().Security
	if sec == nil {
		t.Fatal("Varz has no Security counters")
	}
	if sec.AuthTimeout != 1 || sec.AuthNoCredentials != 1 || sec.AuthBadCredentials != 0 {
		t.Errorf("timeout %d, no_credentials %d, bad_credentials %d; want 1, 1, 0",
			sec.AuthTimeout, sec.AuthNoCredentials, sec.AuthBadCredentials)
	}
}
