package mqtt

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/internal/testutil"
)

// accountsAuth has user a in account A, b in B and g in the global one
// (each user's password is its name).
func accountsAuth() auth.Config {
	return auth.Config{Users: []auth.User{
		{Username: "a", Password: "a", Account: "A"},
		{Username: "b", Password: "b", Account: "B"},
		{Username: "g", Password: "g"},
	}}
}

// startAccountsBroker runs a broker with accounts A and B and the users of
// accountsAuth.
func startAccountsBroker(t testing.TB) *broker.Server {
	t.Helper()
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1, Auth: accountsAuth(),
		Accounts: []broker.Account{{Name: "A"}, {Name: "B"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

// accountConns is a Deps.AccountConn as the daemon's: one in-process
// client per account, made on first use and closed at the test's end
// (after the listeners started later stopped).
type accountConns struct {
	srv *broker.Server
	mu  sync.Mutex
	lcs map[string]*broker.LocalClient
}

func newAccountConns(t testing.TB, srv *broker.Server) *accountConns {
	ac := &accountConns{srv: srv, lcs: make(map[string]*broker.LocalClient)}
	t.Cleanup(func() {
		for _, lc := range ac.lcs {
			lc.Close()
		}
	})
	return ac
}

func (ac *accountConns) conn(account string) (bridge.Conn, error) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if lc := ac.lcs[account]; lc != nil {
		return localConn{lc}, nil
	}
	lc, err := ac.srv.NewAccountClient(account, broker.LocalOptions{Name: "mqtt:" + account})
	if err != nil {
		return nil, err
	}
	ac.lcs[account] = lc
	return localConn{lc}, nil
}

// accountDeps are the Deps of a listener (in the global account) whose
// users log in to their accounts.
func accountDeps(t testing.TB, srv *broker.Server, store Store) Deps {
	t.Helper()
	ma, err := NewAuth(newLiveAuth(t, accountsAuth()), accountsAuth(), "")
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Auth: ma.Check, AccountConn: newAccountConns(t, srv).conn, Store: store}
}

// probe collects the subjects and payloads an in-process client of account
// gets on subject.
type probe struct {
	mu  sync.Mutex
	got []string
}

func newProbe(t testing.TB, srv *broker.Server, account, subject string) *probe {
	t.Helper()
	lc, err := srv.NewAccountClient(account, broker.LocalOptions{Name: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Close)
	p := &probe{}
	if _, err := lc.Subscribe(subject, "", func(m broker.Msg) {
		p.mu.Lock()
		p.got = append(p.got, string(m.Subject)+"="+string(m.Data))
		p.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *probe) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// payloads are the topic=payload of r's messages.
func (r *received) payloads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Topic()+"="+string(m.Payload()))
	}
	return out
}

func userOpts(url, id, user string) *paho.ClientOptions {
	return pahoOpts(url, id).SetUsername(user).SetPassword(user)
}

// TestAccountsPublishSubscribe pins that an MQTT user works in its own
// account: a's publish reaches NATS and MQTT subscribers of A, and neither
// those of B nor of the global account.
func TestAccountsPublishSubscribe(t *testing.T) {
	srv := startAccountsBroker(t)
	tl := startListener(t, srv, Config{}, accountDeps(t, srv, nil))
	natsA := newProbe(t, srv, "A", "sensors.>")
	natsB := newProbe(t, srv, "B", "sensors.>")
	natsG := newProbe(t, srv, "$G", "sensors.>")

	pubA := connect(t, userOpts(tl.url(), "pub", "a"))
	subA := subscribe(t, connect(t, userOpts(tl.url(), "sub-a", "a")), "sensors/#", 0)
	bc := connect(t, userOpts(tl.url(), "sub-b", "b"))
	subB := subscribe(t, bc, "sensors/#", 0)
	gc := connect(t, userOpts(tl.url(), "sub-g", "g"))
	subG := subscribe(t, gc, "sensors/#", 0)

	wait(t, pubA.Publish("sensors/t1", 1, false, []byte("a1")), "publish in A")
	testutil.WaitForf(t, 5*time.Second, func() bool { return len(natsA.list()) == 1 && subA.len() == 1 }, "A's subscribers get A's message")
	// Barriers: a message published in B (and in the global account) after
	// A's reaches their subscribers after anything of A's would have.
	wait(t, bc.Publish("sensors/mark", 1, false, []byte("b")), "publish in B")
	wait(t, gc.Publish("sensors/mark", 1, false, []byte("g")), "publish in $G")
	testutil.WaitForf(t, 5*time.Second, func() bool {
		return len(natsB.list()) > 0 && subB.len() > 0 && len(natsG.list()) > 0 && subG.len() > 0
	}, "barrier messages")
	for name, got := range map[string][]string{
		"NATS in B": natsB.list(), "MQTT in B": subB.payloads(), "NATS in $G": natsG.list(), "MQTT in $G": subG.payloads(),
	} {
		if len(got) != 1 || !slices.Contains([]string{"sensors.mark=b", "sensors/mark=b", "sensors.mark=g", "sensors/mark=g"}, got[0]) {
			t.Errorf("%s got %q, want only its own account's marker", name, got)
		}
	}
	if got := natsA.list(); !slices.Equal(got, []string{"sensors.t1=a1"}) {
		t.Errorf("NATS in A got %q, want only A's message", got)
	}
}

// TestAccountsRetained pins that retained messages are per account: the
// same topic retained in A and B are two messages, each seen only by its
// account's subscribers.
func TestAccountsRetained(t *testing.T) {
	srv := startAccountsBroker(t)
	tl := startListener(t, srv, Config{}, accountDeps(t, srv, nil))
	ac := connect(t, userOpts(tl.url(), "ra", "a"))
	bc := connect(t, userOpts(tl.url(), "rb", "b"))
	wait(t, ac.Publish("cfg/x", 1, true, []byte("from-a")), "retain in A")
	wait(t, bc.Publish("cfg/x", 1, true, []byte("from-b")), "retain in B")
	gc := connect(t, userOpts(tl.url(), "rg", "g"))
	for _, tc := range []struct {
		user string
		c    paho.Client
		want string
	}{
		{"b", bc, "cfg/x=from-b"},
		{"a", ac, "cfg/x=from-a"},
		{"g", gc, ""},
	} {
		sc := connect(t, userOpts(tl.url(), "s"+tc.user, tc.user))
		r := subscribe(t, sc, "cfg/#", 0)
		// Retained messages are sent with the SUBACK; a live message
		// after them is the barrier.
		wait(t, tc.c.Publish("cfg/mark", 1, false, []byte("m")), "marker")
		testutil.WaitForf(t, 5*time.Second, func() bool { return slices.Contains(r.payloads(), "cfg/mark=m") }, "marker of %s", tc.user)
		want := []string{"cfg/mark=m"}
		if tc.want != "" {
			want = []string{tc.want, "cfg/mark=m"}
		}
		if got := r.payloads(); !slices.Equal(got, want) {
			t.Errorf("%s's subscriber got %q, want %q", tc.user, got, want)
		}
	}
	if n := tl.Snapshot().Retained; n != 2 {
		t.Errorf("%d retained messages, want 2", n)
	}
}

// TestAccountsSameClientID pins that sessions are per account: the same
// client id in A and B are two sessions, connected at once, and a
// persistent session in A comes back in A after a restart while the one in
// B keeps its own subscriptions.
func TestAccountsSameClientID(t *testing.T) {
	srv := startAccountsBroker(t)
	store := NewMemStore()
	deps := accountDeps(t, srv, store)
	tl := startListener(t, srv, Config{}, deps)

	devA := connect(t, userOpts(tl.url(), "dev", "a").SetCleanSession(false))
	wait(t, devA.Subscribe("cmd/#", 1, nil), "subscribe in A")
	devB := connect(t, userOpts(tl.url(), "dev", "b").SetCleanSession(false))
	wait(t, devB.Subscribe("other/#", 1, nil), "subscribe in B")
	// A takeover would have closed devA's connection before devB's
	// CONNACK: its QoS 1 publish would get no PUBACK.
	wait(t, devA.Publish("still/here", 1, false, []byte("x")), "devA after devB connected")
	if !devA.IsConnectionOpen() || !devB.IsConnectionOpen() {
		t.Fatal("the same client id in A and B took each other over")
	}
	if sn := tl.Snapshot(); sn.PersistentSessions != 2 {
		t.Fatalf("%d persistent sessions, want 2", sn.PersistentSessions)
	}
	devA.Disconnect(100)
	devB.Disconnect(100)
	if ids, _ := store.SessionIDs(); !slices.Equal(ids, []string{"A\x00dev", "B\x00dev"}) {
		t.Fatalf("stored sessions %q, want A's and B's dev", ids)
	}

	// Restart over the same store.
	p := port(tl.Listener)
	tl.stop()
	tl = startListener(t, srv, Config{Port: p}, deps)
	// Queued for the offline session in A while it is away.
	pub := connect(t, userOpts(tl.url(), "pub", "a"))
	wait(t, pub.Publish("cmd/reboot", 1, false, []byte("now")), "publish for the offline session")
	pubB := connect(t, userOpts(tl.url(), "pub", "b"))
	wait(t, pubB.Publish("cmd/reboot", 1, false, []byte("not-for-a")), "publish in B")

	for _, tc := range []struct{ user, want string }{{"a", "cmd/reboot=now"}, {"b", ""}} {
		r := &received{}
		o := userOpts(tl.url(), "dev", tc.user).SetCleanSession(false).SetDefaultPublishHandler(r.handler)
		c := paho.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("reconnect dev in %s: %v", tc.user, tok.Error())
		}
		if !tok.(*paho.ConnectToken).SessionPresent() {
			t.Errorf("dev in %s: no session present after restart", tc.user)
		}
		if tc.want != "" {
			testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() > 0 }, "queued message in A")
			if got := r.payloads(); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("dev in %s got %q, want %q", tc.user, got, tc.want)
			}
		} else {
			// dev in B subscribes other/#: cmd/reboot of B is not its.
			wait(t, pubB.Publish("other/mark", 1, false, []byte("m")), "marker in B")
			testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() > 0 }, "B's session resubscribed")
			if got := r.payloads(); !slices.Equal(got, []string{"other/mark=m"}) {
				t.Errorf("dev in B got %q, want only its marker", got)
			}
		}
		c.Disconnect(100)
	}
}

// TestAccountsDurableOnlyListenerAccount pins that Deps.Durable takes the
// QoS 1 publishes of the listener's account only: a session in another
// account publishes into its account directly.
func TestAccountsDurableOnlyListenerAccount(t *testing.T) {
	srv := startAccountsBroker(t)
	fd := &fakeDurable{}
	d := accountDeps(t, srv, nil)
	d.Durable = fd
	tl := startListener(t, srv, Config{}, d)
	natsA := newProbe(t, srv, "A", "tele.>")
	wait(t, connect(t, userOpts(tl.url(), "ta", "a")).Publish("tele/a", 1, false, []byte("1")), "publish in A")
	wait(t, connect(t, userOpts(tl.url(), "tg", "g")).Publish("tele/g", 1, false, []byte("2")), "publish in $G")
	testutil.WaitForf(t, 5*time.Second, func() bool { return len(natsA.list()) == 1 }, "A's publish in A")
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if !slices.Equal(fd.queued, []string{"tele.g=2"}) {
		t.Errorf("durably queued %q, want only the global account's", fd.queued)
	}
}

// TestAccountsRefusedWithoutAccountConn pins that, without
// Deps.AccountConn, a user of another account than the listener's is
// refused rather than let into the listener's.
func TestAccountsRefusedWithoutAccountConn(t *testing.T) {
	srv := startAccountsBroker(t)
	d := accountDeps(t, srv, nil)
	d.AccountConn = nil
	tl := startListener(t, srv, Config{}, d)
	c := paho.NewClient(userOpts(tl.url(), "x", "a"))
	tok := c.Connect()
	tok.WaitTimeout(5 * time.Second)
	if got := tok.(*paho.ConnectToken).ReturnCode(); got != connNotAuthorized {
		t.Fatalf("CONNACK %d, want %d", got, connNotAuthorized)
	}
	connect(t, userOpts(tl.url(), "y", "g"))
}

// TestAccountsReauthorizeMoved pins that a reload moving a user to another
// account closes its connection (it must log in again there), while a
// user that stays in its account keeps its connection.
func TestAccountsReauthorizeMoved(t *testing.T) {
	srv := startAccountsBroker(t)
	la := newLiveAuth(t, accountsAuth())
	ma, err := NewAuth(la, accountsAuth(), "")
	if err != nil {
		t.Fatal(err)
	}
	tl := startListener(t, srv, Config{}, Deps{Auth: ma.Check, AccountConn: newAccountConns(t, srv).conn})
	ac := connect(t, userOpts(tl.url(), "ma", "a"))
	bc := connect(t, userOpts(tl.url(), "mb", "b"))
	moved := accountsAuth()
	moved.Users[0].Account = "B"
	la.set(moved)
	tl.Reauthorize()
	testutil.WaitForf(t, 5*time.Second, func() bool { return !ac.IsConnectionOpen() }, "a's connection closed after moving to B")
	wait(t, bc.Publish("still/here", 1, false, []byte("x")), "b after the reload")
	c := connect(t, userOpts(tl.url(), "ma", "a"))
	r := subscribe(t, bc, "from/#", 0)
	wait(t, c.Publish("from/a", 0, false, []byte("in-b")), "a's publish after moving")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "a's publish reaches B")
}

// TestAccountsStoredForListenerAccount pins that, after Config.Account is
// changed to an account whose sessions were stored as another account's,
// those are not loaded (the listener's own are under plain keys), so they
// never meet its sessions of the same client id.
func TestAccountsStoredForListenerAccount(t *testing.T) {
	srv := startAccountsBroker(t)
	store := NewMemStore()
	for _, k := range []string{"dev", "A\x00dev", "B\x00dev"} {
		if err := store.SetSubscriptions(k, []Subscription{{Filter: "x/#", QoS: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	tl := startListener(t, srv, Config{Account: "A"}, accountDeps(t, srv, store))
	tl.mu.Lock()
	keys := slices.Sorted(maps.Keys(tl.sessions))
	tl.mu.Unlock()
	if !slices.Equal(keys, []string{"B\x00dev", "dev"}) {
		t.Fatalf("loaded sessions %q, want B's dev and the listener's dev", keys)
	}
}
