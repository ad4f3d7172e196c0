package leaf_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

// operatorSetup creates an operator, an account and a user, and returns a
// hub configuration in operator mode plus the user's .creds file.
func operatorSetup(t *testing.T) (hubConf, credsFile string) {
	t.Helper()
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "test-operator"
	ojwt, err := oc.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	encodeAccount := func(name string) (nkeys.KeyPair, string, string) {
		akp, _ := nkeys.CreateAccount()
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		ac.Name = name
		ajwt, err := ac.Encode(okp)
		if err != nil {
			t.Fatal(err)
		}
		return akp, apub, ajwt
	}
	akp, apub, ajwt := encodeAccount("APP")
	_, spub, sjwt := encodeAccount("SYS")
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(upub)
	uc.Name = "leaf"
	ujwt, err := uc.Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	useed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile = filepath.Join(t.TempDir(), "leaf.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	hubConf = fmt.Sprintf(`
listen: 127.0.0.1:-1
server_name: hub
operator: %s
system_account: %s
resolver: MEMORY
resolver_preload: { %s: %s, %s: %s }
leafnodes { listen: 127.0.0.1:-1 }
`, ojwt, spub, apub, ajwt, spub, sjwt)
	return hubConf, credsFile
}

func TestCredentialKinds(t *testing.T) {
	t.Parallel()
	nkp, _ := nkeys.CreateUser()
	npub, _ := nkp.PublicKey()
	nseed, _ := nkp.Seed()
	opConf, credsFile := operatorSetup(t)

	tests := []struct {
		name   string
		hub    string
		remote func(u *url.URL) leaf.Remote
		// hubUser and hubOpts connect a hub client in the leaf's account.
		hubUser func(hubURL string) string
		hubOpts []nats.Option
	}{
		{
			name: "user password in url",
			hub:  `listen: 127.0.0.1:-1, leafnodes { listen: 127.0.0.1:-1, authorization { user: lu, password: lp } }`,
			remote: func(u *url.URL) leaf.Remote {
				u.User = url.UserPassword("lu", "lp")
				return remote(u)
			},
		},
		{
			name: "user password fields",
			hub:  `listen: 127.0.0.1:-1, leafnodes { listen: 127.0.0.1:-1, authorization { users = [ {user: a, password: b}, {user: lu, password: lp} ] } }`,
			remote: func(u *url.URL) leaf.Remote {
				r := remote(u)
				r.User, r.Password = "lu", "lp"
				return r
			},
		},
		{
			name: "token",
			hub:  `listen: 127.0.0.1:-1, authorization { token: s3cr3t }, leafnodes { listen: 127.0.0.1:-1 }`,
			remote: func(u *url.URL) leaf.Remote {
				r := remote(u)
				r.Token = "s3cr3t"
				return r
			},
			hubUser: func(h string) string { return "nats://s3cr3t@" + h[len("nats://"):] },
		},
		{
			name: "nkey seed",
			hub:  fmt.Sprintf(`listen: 127.0.0.1:-1, leafnodes { listen: 127.0.0.1:-1, authorization { nkey: %s } }`, npub),
			remote: func(u *url.URL) leaf.Remote {
				r := remote(u)
				r.Nkey = string(nseed)
				return r
			},
		},
		{
			name: "creds file, operator mode",
			hub:  opConf,
			remote: func(u *url.URL) leaf.Remote {
				r := remote(u)
				r.Credentials = credsFile
				return r
			},
			hubOpts: []nats.Option{nats.UserCredentials(credsFile)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := testutil.StartHub(t, testutil.HubOptions(t, tc.hub))
			gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{tc.remote(hubLeafURL(t, hub, "nats-leaf"))}})
			gw.waitLinks(t, 1, waitShort)
			testutil.WaitFor(t, waitShort, func() bool { return hub.NumLeafNodes() == 1 })
			hubURL := hub.ClientURL()
			if tc.hubUser != nil {
				hubURL = tc.hubUser(hubURL)
			}
			hubNC := connect(t, hubURL, tc.hubOpts...)
			gwNC := connect(t, gw.url)
			sub, _ := hubNC.SubscribeSync("cred.check")
			hubNC.Flush()
			waitRoute(t, gwNC, sub, "cred.check")
		})
	}
}

// Wrong credentials: a clear log line, and the uplink keeps retrying until
// the hub accepts (here: never, so the attempts are counted).
func TestWrongCredentialsKeepsRetrying(t *testing.T) {
	t.Parallel()
	hub := testutil.StartHub(t, testutil.HubOptions(t, `listen: 127.0.0.1:-1, leafnodes { listen: 127.0.0.1:-1, authorization { user: lu, password: lp } }`))
	u := hubLeafURL(t, hub, "nats-leaf")
	u.User = url.UserPassword("lu", "wrong")
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(u)}, Reconnect: 20 * time.Millisecond})
	const want = "hub rejected our credentials"
	testutil.WaitFor(t, waitLong, func() bool { return gw.logs.count(want) >= 3 })
	if !containsAll(gw.logs.String(), "Authorization Violation", "remote=nats-leaf://lu:xxxxx@") {
		t.Fatalf("log lacks the reason or redacts badly:\n%s", gw.logs.String())
	}
	if gw.up.NumLinks() != 0 {
		t.Fatal("link registered with wrong credentials")
	}
	// Local clients keep working meanwhile.
	nc := connect(t, gw.url)
	sub, _ := nc.SubscribeSync("local")
	nc.Publish("local", []byte("x"))
	if _, err := sub.NextMsg(waitShort); err != nil {
		t.Fatal(err)
	}
}
