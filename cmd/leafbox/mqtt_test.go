package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
)

// TestMQTTComponentWithStoreAndAuth runs the component over a real store
// and the broker's users: a retained message survives a restart of both.
func TestMQTTComponentWithStoreAndAuth(t *testing.T) {
	dir := t.TempDir()
	authCfg := auth.Config{Users: []auth.User{{Username: "dev", Password: "pw"}}}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1, Auth: authCfg})
	if err != nil {
		t.Fatal(err)
	}
	bctx, bstop := context.WithCancel(context.Background())
	defer bstop()
	go srv.Run(bctx)
	port := testutil.FreePort(t)
	start := func() (stop func()) {
		opts := &config.Options{Broker: broker.Config{Auth: authCfg},
			Store: storage.Config{Dir: dir}, MQTT: mqtt.Config{Listen: true, Host: "127.0.0.1", Port: port}}
		log := slog.New(slog.DiscardHandler)
		sc := newStoreComponent(opts.Store, log)
		if sc == nil {
			t.Fatalf("store: %v", nil)
		}
		mc, err := newMQTTComponent(opts, srv, sc.open(), nil, nil, log)
		if err != nil || mc == nil {
			t.Fatalf("mqtt: %v", err)
		}
		comps := []namedComponent{{"store", sc}, {"mqtt", mc}}
		ctx, cancel := context.WithCancel(context.Background())
		wait := runComponents(ctx, comps, log)
		return func() { cancel(); wait() }
	}
	url := "tcp://127.0.0.1:" + strconv.Itoa(port)
	stop := start()
	o := paho.NewClientOptions().AddBroker(url).SetClientID("c1").SetUsername("dev").SetPassword("wrong").
		SetConnectTimeout(3 * time.Second).SetConnectRetry(false).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Fatal("wrong password accepted")
	}
	o.SetPassword("pw")
	connectRetry := func() paho.Client {
		var c paho.Client
		deadline := time.Now().Add(5 * time.Second)
		for {
			c = paho.NewClient(o)
			tok := c.Connect()
			if tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("connect: %v", tok.Error())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c = connectRetry()
	if tok := c.Publish("keep/me", 1, true, []byte("v1")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(10)
	stop()

	stop = start()
	defer stop()
	got := make(chan string, 1)
	c = connectRetry()
	defer c.Disconnect(0)
	c.Subscribe("keep/#", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + "=" + string(m.Payload()) })
	select {
	case g := <-got:
		if g != "keep/me=v1" {
			t.Fatalf("got %q", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("retained message lost over a restart")
	}
}

// mqttReloadConf is the configuration of TestMQTTReload: alice, bob and a
// guest for anonymous MQTT clients; after the reload bob is gone and alice
// may no longer subscribe to or publish on secret.>.
func mqttReloadConf(after bool) string {
	users := `{ user: admin, password: apw }
    { user: alice, password: pw }
    { user: bob, password: bpw }
    { user: guest, password: gpw }`
	if after {
		users = `{ user: admin, password: apw }
    { user: alice, password: pw, permissions: { publish: { deny: "secret.>" }, subscribe: { deny: "secret.>" } } }
    { user: guest, password: gpw, permissions: { subscribe: { deny: "secret.>" } } }`
	}
	return "listen: \"127.0.0.1:-1\"\n" +
		"authorization {\n  users = [\n    " + users + "\n  ]\n}\n" +
		"mqtt { listen: \"127.0.0.1:-1\", no_auth_user: guest }\n"
}

// TestMQTTReload pins that a SIGHUP reload reaches the MQTT listener: a
// removed user's MQTT connection is closed, subscriptions and publishes
// follow the new permissions, the mqtt block's no_auth_user gets its new
// permissions too, and a reload that would leave no_auth_user without its
// user is refused as a whole.
func TestMQTTReload(t *testing.T) {
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "leafbox.conf", mqttReloadConf(false))
	opts, err := config.Load([]string{"-c", conf})
	if err != nil {
		t.Fatal(err)
	}
	logs := &daemonBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	d, err := newDaemon(opts, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, comps := d.srv, d.comps
	bctx, bstop := context.WithCancel(context.Background())
	bdone := make(chan struct{})
	go func() { defer close(bdone); srv.Run(bctx) }()
	t.Cleanup(func() { bstop(); <-bdone })
	ctx, cancel := context.WithCancel(context.Background())
	wait := runComponents(ctx, comps, log)
	t.Cleanup(func() { cancel(); wait() })
	var addr string
	for _, c := range comps {
		if mc, ok := c.component.(*mqttComponent); ok {
			addr = mc.listener.Addr().String()
		}
	}
	url := "tcp://" + addr
	dial := func(id, user, pass string, o ...func(*paho.ClientOptions)) paho.Client {
		t.Helper()
		po := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetConnectTimeout(3 * time.Second).
			SetConnectRetry(false).SetAutoReconnect(false)
		if user != "" {
			po.SetUsername(user).SetPassword(pass)
		}
		for _, f := range o {
			f(po)
		}
		c := paho.NewClient(po)
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", id, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(0) })
		return c
	}
	type got struct{ topic, payload string }
	collect := func(c paho.Client, filter string) <-chan got {
		t.Helper()
		ch := make(chan got, 16)
		tok := c.Subscribe(filter, 0, func(_ paho.Client, m paho.Message) { ch <- got{m.Topic(), string(m.Payload())} })
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", filter, tok.Error())
		}
		return ch
	}
	// upToSentinel reads ch up to the message "end" and fails on any
	// message bad reports.
	upToSentinel := func(ch <-chan got, who string, bad func(got) bool) {
		t.Helper()
		for {
			select {
			case g := <-ch:
				if g.payload == "end" {
					return
				}
				if bad(g) {
					t.Errorf("%s received %s %q", who, g.topic, g.payload)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: no sentinel", who)
			}
		}
	}

	admin := dial("admin", "admin", "apw")
	lost := make(chan error, 1)
	dial("bob", "bob", "bpw", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	})
	alice := dial("alice", "alice", "pw")
	aliceGot := collect(alice, "+/x")
	anon := dial("anon", "", "")
	anonGot := collect(anon, "#")
	adminGot := collect(admin, "#")

	daemonWriteConf(t, dir, "leafbox.conf", mqttReloadConf(true))
	reload(opts, srv, comps, log)
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("bob's MQTT connection still open after the reload removed him")
	}
	if tok := alice.Publish("secret/x", 0, false, []byte("from alice")); !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("alice publish")
	}
	for _, m := range []struct{ topic, payload string }{{"secret/x", "denied"}, {"public/x", "end"}} {
		if tok := admin.Publish(m.topic, 0, false, []byte(m.payload)); !tok.WaitTimeout(5 * time.Second) {
			t.Fatal("admin publish")
		}
	}
	anything := func(got) bool { return true }
	upToSentinel(aliceGot, "alice's +/x", anything)
	upToSentinel(anonGot, "the anonymous client's #", anything)
	upToSentinel(adminGot, "admin (alice's denied publish)", func(g got) bool { return g.payload == "from alice" })

	// Without guest the mqtt block's no_auth_user has no user: the reload
	// is refused and nothing changes, for NATS clients either.
	daemonWriteConf(t, dir, "leafbox.conf", strings.Replace(mqttReloadConf(false), "{ user: guest, password: gpw }", "", 1))
	reload(opts, srv, comps, log)
	if !strings.Contains(logs.String(), "SIGHUP: reload failed") || !strings.Contains(logs.String(), "no_auth_user") {
		t.Errorf("no refused reload logged:\n%s", logs.String())
	}
	if _, err := srv.Authenticator().Authenticate(auth.Credentials{Username: "bob", Password: "bpw"}, nil); err == nil {
		t.Error("the refused reload was applied to the broker")
	}
}

// TestMQTTListenerInAccount pins the mqtt block's account: users of that
// account log in, their publishes reach NATS clients of the same account
// only, and a user of another account logs in to its own.
func TestMQTTListenerInAccount(t *testing.T) {
	authCfg := auth.Config{Users: []auth.User{
		{Username: "dev", Password: "pw", Account: "A"},
		{Username: "g", Password: "g"},
	}}
	bcfg := broker.Config{Host: "127.0.0.1", Port: -1, Auth: authCfg, Accounts: []broker.Account{{Name: "A"}}}
	srv, err := broker.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	port := testutil.FreePort(t)
	opts := &config.Options{Broker: bcfg, MQTT: mqtt.Config{Listen: true, Host: "127.0.0.1", Port: port, Account: "A"}}
	log := slog.New(slog.DiscardHandler)
	mc, err := newMQTTComponent(opts, srv, nil, nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	wait := runComponents(ctx, []namedComponent{{"mqtt", mc}}, log)
	defer func() { cancel(); wait() }()

	url := "nats://" + srv.Addr().String()
	sub := func(user string) (*nats.Conn, *nats.Subscription) {
		nc, err := nats.Connect(url, nats.UserInfo(user, user))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		s, err := nc.SubscribeSync("sensors.>")
		if err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		return nc, s
	}
	ncG, subG := sub("g")

	mqttConnect := func(user, pass string) (paho.Client, error) {
		o := paho.NewClientOptions().AddBroker("tcp://127.0.0.1:" + strconv.Itoa(port)).SetClientID(user).
			SetUsername(user).SetPassword(pass).SetConnectTimeout(3 * time.Second).SetConnectRetry(false).SetAutoReconnect(false)
		var c paho.Client
		var err error
		testutil.WaitForf(t, 5*time.Second, func() bool {
			c = paho.NewClient(o)
			tok := c.Connect()
			tok.WaitTimeout(3 * time.Second)
			err = tok.Error()
			return err == nil || !strings.Contains(err.Error(), "connection refused")
		}, "mqtt listener up")
		return c, err
	}
	gc, err := mqttConnect("g", "g")
	if err != nil {
		t.Fatalf("global user: %v", err)
	}
	defer gc.Disconnect(10)
	dev, err := mqttConnect("dev", "pw")
	if err != nil {
		t.Fatalf("account A's user: %v", err)
	}
	defer dev.Disconnect(10)
	// The NATS side of account A: an in-process client there.
	la, err := srv.NewAccountClient("A", broker.LocalOptions{Name: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	got := make(chan string, 4)
	if _, err := la.Subscribe("sensors.>", "", func(m broker.Msg) { got <- string(m.Subject) }); err != nil {
		t.Fatal(err)
	}
	if tok := dev.Publish("sensors/t1", 0, false, []byte("21.5")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case s := <-got:
		if s != "sensors.t1" {
			t.Errorf("account A got %s", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("account A got nothing from the MQTT device")
	}
	ncG.Flush()
	if n, _, _ := subG.Pending(); n != 0 {
		t.Errorf("the global account got %d MQTT messages, want none", n)
	}
	// The global user publishes in the global account, not in A.
	if tok := gc.Publish("sensors/g", 0, false, []byte("g")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if m, err := subG.NextMsg(5 * time.Second); err != nil || m.Subject != "sensors.g" {
		t.Fatalf("global account: %v, %v", m, err)
	}
	select {
	case s := <-got:
		t.Errorf("account A got the global user's %s", s)
	default:
	}
}

// TestMQTTAccountsOverRestart runs the component over a real store with
// users in accounts A and B: the same client id in both is two persistent
// sessions and the same topic two retained messages, and after a restart
// each comes back in its own account.
func TestMQTTAccountsOverRestart(t *testing.T) {
	dir := t.TempDir()
	authCfg := auth.Config{Users: []auth.User{
		{Username: "a", Password: "a", Account: "A"},
		{Username: "b", Password: "b", Account: "B"},
	}}
	bcfg := broker.Config{Host: "127.0.0.1", Port: -1, Auth: authCfg, Accounts: []broker.Account{{Name: "A"}, {Name: "B"}}}
	srv, err := broker.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	bctx, bstop := context.WithCancel(context.Background())
	defer bstop()
	go srv.Run(bctx)
	port := testutil.FreePort(t)
	start := func() (stop func()) {
		opts := &config.Options{Broker: bcfg, Store: storage.Config{Dir: dir},
			MQTT: mqtt.Config{Listen: true, Host: "127.0.0.1", Port: port}}
		log := slog.New(slog.DiscardHandler)
		sc := newStoreComponent(opts.Store, log)
		mc, err := newMQTTComponent(opts, srv, sc.open(), nil, nil, log)
		if err != nil || mc == nil {
			t.Fatalf("mqtt: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		wait := runComponents(ctx, []namedComponent{{"store", sc}, {"mqtt", mc}}, log)
		return func() { cancel(); wait() }
	}
	type msgs chan string
	connect := func(id, user string, clean bool) (paho.Client, msgs, bool) {
		got := make(msgs, 8)
		o := paho.NewClientOptions().AddBroker("tcp://127.0.0.1:" + strconv.Itoa(port)).SetClientID(id).
			SetUsername(user).SetPassword(user).SetCleanSession(clean).
			SetConnectTimeout(3 * time.Second).SetConnectRetry(false).SetAutoReconnect(false).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m.Topic() + "=" + string(m.Payload()) })
		var c paho.Client
		var tok paho.Token
		testutil.WaitForf(t, 5*time.Second, func() bool {
			c = paho.NewClient(o)
			tok = c.Connect()
			return tok.WaitTimeout(3*time.Second) && tok.Error() == nil
		}, "connect %s as %s", id, user)
		t.Cleanup(func() { c.Disconnect(0) })
		return c, got, tok.(*paho.ConnectToken).SessionPresent()
	}
	do := func(tok paho.Token) {
		t.Helper()
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	next := func(got msgs, what string) string {
		t.Helper()
		select {
		case m := <-got:
			return m
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing received", what)
			return ""
		}
	}

	stop := start()
	for _, user := range []string{"a", "b"} {
		c, _, _ := connect("dev", user, false)
		do(c.Subscribe("cmd/#", 1, nil))
		do(c.Publish("cfg/x", 1, true, []byte("of-"+user)))
		c.Disconnect(10)
	}
	stop()

	stop = start()
	defer stop()
	pubA, _, _ := connect("pub", "a", true)
	do(pubA.Publish("cmd/reboot", 1, false, []byte("for-a"))) // queued for dev in A
	for _, user := range []string{"a", "b"} {
		c, got, present := connect("dev", user, false)
		if !present {
			t.Errorf("dev in %s: no session after the restart", user)
		}
		if user == "a" {
			if m := next(got, "dev in A"); m != "cmd/reboot=for-a" {
				t.Errorf("dev in A got %q, want its queued command", m)
			}
		} else {
			// dev in B kept cmd/#: B's own command is its next message.
			do(c.Publish("cmd/mark", 1, false, []byte("b")))
			if m := next(got, "dev in B"); m != "cmd/mark=b" {
				t.Errorf("dev in B got %q, want only B's message", m)
			}
		}
		r := make(msgs, 4)
		do(c.Subscribe("cfg/#", 0, func(_ paho.Client, m paho.Message) { r <- m.Topic() + "=" + string(m.Payload()) }))
		if m := next(r, "retained"); m != "cfg/x=of-"+user {
			t.Errorf("%s's retained cfg/x is %q", user, m)
		}
		// Retained messages come with the SUBACK: a live one after them
		// is next, not the other account's.
		do(c.Publish("cfg/mark", 0, false, []byte(user)))
		if m := next(r, "marker"); m != "cfg/mark="+user {
			t.Errorf("%s got %q after its retained message, want its marker", user, m)
		}
	}
}
