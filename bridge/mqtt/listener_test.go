package mqtt

import (
	"errors"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

func TestPahoPubSubQoS(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	sub := connect(t, pahoOpts(tl.url(), "sub"))
	pub := connect(t, pahoOpts(tl.url(), "pub"))
	for _, tc := range []struct {
		name           string
		filter, topic  string
		subQoS, pubQoS byte
		wantQoS        byte
	}{
		{"qos0", "a/b", "a/b", 0, 0, 0},
		{"qos1", "q1/+", "q1/x", 1, 1, 1},
		{"qos2", "q2/#", "q2/x/y", 2, 2, 2},
		{"downgrade", "dg/#", "dg", 0, 2, 0},
		{"min of both", "mn/#", "mn/z", 2, 1, 1},
		{"dots and empty levels", "/x//y.z/", "/x//y.z/", 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := subscribe(t, sub, tc.filter, tc.subQoS)
			wait(t, pub.Publish(tc.topic, tc.pubQoS, false, []byte("hello "+tc.name)), "publish")
			testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "message on %s", tc.filter)
			m := r.get(0)
			if m.Topic() != tc.topic || string(m.Payload()) != "hello "+tc.name || m.Qos() != tc.wantQoS || m.Retained() {
				t.Fatalf("got topic %q payload %q qos %d retained %v", m.Topic(), m.Payload(), m.Qos(), m.Retained())
			}
			wait(t, sub.Unsubscribe(tc.filter), "unsubscribe")
		})
	}
}

func TestNATSInterop(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	c := connect(t, pahoOpts(tl.url(), "dev"))
	lc := srv.NewLocalClient(broker.LocalOptions{Name: "app"})
	defer lc.Close()

	// MQTT → NATS, with nats-server's mapping.
	var mu sync.Mutex
	var got []string
	_, err := lc.Subscribe(">", "", func(m broker.Msg) {
		mu.Lock()
		got = append(got, string(m.Subject)+" "+string(m.Data))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, c.Publish("sensors/t1.temp", 0, false, []byte("21")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 }, "NATS message")
	if got[0] != "sensors.t1//temp 21" {
		t.Fatalf("NATS got %q", got[0])
	}

	// NATS → MQTT.
	r := subscribe(t, c, "cmd/#", 1)
	if err := lc.Publish(broker.Msg{Subject: []byte("cmd.relay//1"), Data: []byte("on")}); err != nil {
		t.Fatal(err)
	}
	if err := lc.Publish(broker.Msg{Subject: []byte("cmd"), Data: []byte("level-up")}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 2 }, "MQTT messages")
	if m := r.get(0); m.Topic() != "cmd/relay.1" || string(m.Payload()) != "on" || m.Qos() != 0 {
		t.Fatalf("MQTT got %q %q qos %d", m.Topic(), m.Payload(), m.Qos())
	}
	if m := r.get(1); m.Topic() != "cmd" {
		t.Fatalf("a/# must match a, got %q", m.Topic())
	}
}

func TestRetained(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	pub := connect(t, pahoOpts(tl.url(), "pub"))
	wait(t, pub.Publish("r/1", 1, true, []byte("one")), "publish")
	wait(t, pub.Publish("r/2", 0, true, []byte("two")), "publish")
	wait(t, pub.Publish("r/2", 0, true, []byte("two-b")), "replace")
	wait(t, pub.Publish("r/3", 0, true, []byte("three")), "publish")
	wait(t, pub.Publish("r/3", 0, true, []byte{}), "delete")

	sub := connect(t, pahoOpts(tl.url(), "sub"))
	r := subscribe(t, sub, "r/+", 1)
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 2 }, "retained messages")
	want := map[string]string{"r/1": "one", "r/2": "two-b"}
	for i := range 2 {
		m := r.get(i)
		if want[m.Topic()] != string(m.Payload()) || !m.Retained() {
			t.Fatalf("retained %q = %q (retain %v)", m.Topic(), m.Payload(), m.Retained())
		}
	}
	// Live messages on a retained topic carry no retain flag [MQTT-3.3.1-9].
	wait(t, pub.Publish("r/1", 0, true, []byte("live")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 3 }, "live message")
	if m := r.get(2); m.Retained() || string(m.Payload()) != "live" {
		t.Fatalf("live message retained=%v payload %q", m.Retained(), m.Payload())
	}
	// No extra message may follow: one would arrive before a sentinel
	// from the same publisher.
	wait(t, pub.Publish("r/sentinel", 0, false, []byte("sentinel")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() >= 4 }, "sentinel")
	if m := r.get(3); string(m.Payload()) != "sentinel" {
		t.Fatalf("extra message %q %q before the sentinel", m.Topic(), m.Payload())
	}
}

func TestWillOnAbruptDisconnect(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	watcher := connect(t, pahoOpts(tl.url(), "watcher"))
	r := subscribe(t, watcher, "will/#", 1)

	// A clean DISCONNECT does not fire the will [MQTT-3.14.4-3].
	polite := paho.NewClient(pahoOpts(tl.url(), "polite").SetWill("will/polite", "gone", 1, false))
	wait(t, polite.Connect(), "connect")
	polite.Disconnect(10)

	// Closing the socket does [MQTT-3.1.2-8].
	rude := rawConnect(t, tl.Addr().String(), connectPacket("rude", true, 0, []byte("will/rude"), []byte("gone")))
	rude.Close()
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "will")
	if m := r.get(0); m.Topic() != "will/rude" || string(m.Payload()) != "gone" {
		t.Fatalf("will %q %q", m.Topic(), m.Payload())
	}
}

func TestKeepAliveTimeoutFiresWill(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	watcher := connect(t, pahoOpts(tl.url(), "watcher"))
	r := subscribe(t, watcher, "ka/#", 0)
	start := time.Now()
	nc := rawConnect(t, tl.Addr().String(), connectPacket("sleepy", true, 1, []byte("ka/sleepy"), []byte("timeout")))
	defer nc.Close()
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "will after keep-alive")
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Fatalf("closed after %v, before 1.5 x keep-alive", d)
	}
}

func TestTakeover(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	lost := make(chan error, 1)
	o1 := pahoOpts(tl.url(), "same").SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	connect(t, o1)
	connect(t, pahoOpts(tl.url(), "same"))
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("first connection not closed by the takeover")
	}
	testutil.WaitForf(t, 5*time.Second, func() bool { return tl.Stats().Connections.Load() == 1 }, "one connection")
}

func TestPersistentSessionSurvivesRestart(t *testing.T) {
	srv := startBroker(t)
	store := NewMemStore()
	tl := startListener(t, srv, Config{}, Deps{Store: store})
	o := pahoOpts(tl.url(), "dev").SetCleanSession(false)
	c := paho.NewClient(o)
	wait(t, c.Connect(), "connect")
	wait(t, c.Subscribe("s/#", 1, nil), "subscribe")
	c.Disconnect(10)

	// Restart: close and re-create the listener over the same store.
	p := port(tl.Listener)
	tl.stop()
	tl = startListener(t, srv, Config{Port: p}, Deps{Store: store})

	// Published while the device is offline: kept for it.
	lc := srv.NewLocalClient(broker.LocalOptions{Name: "app"})
	defer lc.Close()
	if err := lc.Publish(broker.Msg{Subject: []byte("s.x"), Header: hdrQoS1, Data: []byte("queued")}); err != nil {
		t.Fatal(err)
	}
	tl.stop()
	tl = startListener(t, srv, Config{Port: p}, Deps{Store: store})

	r := &received{}
	o = pahoOpts(tl.url(), "dev").SetCleanSession(false).SetDefaultPublishHandler(r.handler)
	c = paho.NewClient(o)
	tok := c.Connect()
	wait(t, tok, "reconnect")
	defer c.Disconnect(0)
	if !tok.(*paho.ConnectToken).SessionPresent() {
		t.Fatal("session not present after restart")
	}
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "queued message")
	if m := r.get(0); m.Topic() != "s/x" || string(m.Payload()) != "queued" || m.Qos() != 1 {
		t.Fatalf("got %q %q qos %d", m.Topic(), m.Payload(), m.Qos())
	}
	// And the subscription is live again.
	if err := lc.Publish(broker.Msg{Subject: []byte("s.y"), Data: []byte("live")}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 2 }, "live message")
	testutil.WaitForf(t, 5*time.Second, func() bool {
		_, in, _, _ := store.Session("dev")
		return len(in) == 0
	}, "acked message forgotten")

	// A clean session discards it.
	c.Disconnect(10)
	c2 := paho.NewClient(pahoOpts(tl.url(), "dev").SetCleanSession(true))
	tok = c2.Connect()
	wait(t, tok, "clean connect")
	defer c2.Disconnect(0)
	if tok.(*paho.ConnectToken).SessionPresent() {
		t.Fatal("clean session reported a present session")
	}
	if _, _, ok, _ := store.Session("dev"); ok {
		t.Fatal("clean session left the stored session")
	}
}

func TestAuth(t *testing.T) {
	srv := startBroker(t)
	errBad := errors.New("bad")
	auth := func(user, pass string, hasUser bool) (Login, error) {
		switch {
		case user == "admin" && pass == "s3cret":
			return Login{}, nil
		case user == "sensor" && pass == "pw":
			return Login{Perms: denyPerms{pub: "cmd.", sub: "secret."}}, nil
		}
		return Login{}, errBad
	}
	tl := startListener(t, srv, Config{}, Deps{Auth: auth})
	for _, tc := range []struct {
		user, pass string
		want       byte
	}{
		{"admin", "s3cret", connAccepted},
		{"admin", "wrong", connBadUserOrPassword},
		{"", "", connNotAuthorized},
	} {
		o := pahoOpts(tl.url(), "c-"+tc.user+tc.pass)
		if tc.user != "" {
			o.SetUsername(tc.user).SetPassword(tc.pass)
		}
		c := paho.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if got := tok.(*paho.ConnectToken).ReturnCode(); got != tc.want {
			t.Errorf("%s/%s: CONNACK %d, want %d", tc.user, tc.pass, got, tc.want)
		}
		c.Disconnect(0)
	}
	admin := connect(t, pahoOpts(tl.url(), "admin").SetUsername("admin").SetPassword("s3cret"))
	r := subscribe(t, admin, "#", 0)
	sensor := connect(t, pahoOpts(tl.url(), "sensor").SetUsername("sensor").SetPassword("pw"))
	tok := sensor.Subscribe("secret/x", 0, nil)
	wait(t, tok, "subscribe")
	if got := tok.(*paho.SubscribeToken).Result()["secret/x"]; got != subackFailure {
		t.Fatalf("denied subscribe granted %d", got)
	}
	wait(t, sensor.Publish("cmd/x", 1, false, []byte("denied")), "publish")
	wait(t, sensor.Publish("data/x", 1, false, []byte("ok")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "allowed message")
	if m := r.get(0); m.Topic() != "data/x" {
		t.Fatalf("got %q, the denied publish went through", m.Topic())
	}
}

// denyPerms denies subjects with a prefix.
type denyPerms struct{ pub, sub string }

func (p denyPerms) CanPublish(s []byte) bool {
	return len(s) < len(p.pub) || string(s[:len(p.pub)]) != p.pub
}
func (p denyPerms) CanSubscribe(s, _ []byte) bool {
	return len(s) < len(p.sub) || string(s[:len(p.sub)]) != p.sub
}
func (p denyPerms) NeedsDeliverCheck([]byte) bool   { return false }
func (p denyPerms) DeliverAllowed(s, q []byte) bool { return p.CanSubscribe(s, q) }
