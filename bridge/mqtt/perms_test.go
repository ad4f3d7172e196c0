package mqtt

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/internal/testutil"
)

// liveAuth is an AuthFunc over an authorization config that a test can
// replace, as the daemon's SIGHUP does.
type liveAuth struct {
	t testing.TB
	a atomic.Pointer[auth.Authenticator]
}

func newLiveAuth(t testing.TB, cfg auth.Config) *liveAuth {
	la := &liveAuth{t: t}
	la.set(cfg)
	return la
}

func (la *liveAuth) set(cfg auth.Config) {
	la.t.Helper()
	a, err := auth.New(cfg)
	if err != nil {
		la.t.Fatal(err)
	}
	la.a.Store(a)
}

func (la *liveAuth) check(user, pass string, _ bool) (Login, error) {
	id, err := la.a.Load().Authenticate(auth.Credentials{Username: user, Password: pass}, nil)
	if err != nil {
		return Login{}, err
	}
	return Login{Perms: id.Perms}, nil
}

// aliceDenied is alice allowed everything but secret.>, beside an admin.
func aliceDenied() auth.Config {
	return auth.Config{Users: []auth.User{
		{Username: "admin", Password: "apw"},
		{Username: "alice", Password: "pw", Permissions: &auth.Permissions{
			Subscribe: &auth.SubjectPermission{Allow: []string{">"}, Deny: []string{"secret.>"}},
		}},
	}}
}

// topics returns the topics of what r received.
func (r *received) topics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = m.Topic()
	}
	return out
}

// waitTopic waits until r received a message on topic.
func waitTopic(t testing.TB, r *received, topic string) {
	t.Helper()
	testutil.WaitForf(t, 5*time.Second, func() bool {
		for _, got := range r.topics() {
			if got == topic {
				return true
			}
		}
		return false
	}, "message on %s", topic)
}

// waitSentinel waits until r received a message with payload "end",
// published after everything a test then checks for absence: the
// listener delivers one publisher's messages to a connection in order.
func waitSentinel(t testing.TB, r *received) {
	t.Helper()
	testutil.WaitForf(t, 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, m := range r.msgs {
			if string(m.Payload()) == "end" {
				return true
			}
		}
		return false
	}, "the sentinel")
}

// noTopicPrefix fails when r received a topic starting with prefix.
func noTopicPrefix(t testing.TB, r *received, prefix, what string) {
	t.Helper()
	for _, got := range r.topics() {
		if len(got) >= len(prefix) && got[:len(prefix)] == prefix {
			t.Errorf("%s: received %q (got %q)", what, got, r.topics())
		}
	}
}

// TestWildcardSubscribeDeny pins that a wildcard MQTT subscription that
// overlaps a subscribe deny entry gets neither live nor retained messages
// on the denied subjects, as nats-server's delivery-time filter does.
func TestWildcardSubscribeDeny(t *testing.T) {
	srv := startBroker(t)
	la := newLiveAuth(t, aliceDenied())
	tl := startListener(t, srv, Config{}, Deps{Auth: la.check})
	admin := connect(t, pahoOpts(tl.url(), "admin").SetUsername("admin").SetPassword("apw"))
	wait(t, admin.Publish("secret/x", 1, true, []byte("retained secret")), "retain secret/x")
	wait(t, admin.Publish("public/x", 1, true, []byte("retained public")), "retain public/x")

	for _, filter := range []string{"#", "+/x"} {
		for _, qos := range []byte{0, 1} {
			t.Run(filter+" qos"+string('0'+qos), func(t *testing.T) {
				id := "alice" + string('0'+qos) + filter
				alice := connect(t, pahoOpts(tl.url(), id).SetUsername("alice").SetPassword("pw"))
				r := subscribe(t, alice, filter, qos)
				waitTopic(t, r, "public/x") // the retained one
				for _, q := range []byte{0, 1} {
					wait(t, admin.Publish("secret/x", q, false, []byte("live secret")), "publish secret/x")
				}
				wait(t, admin.Publish("public/x", 0, false, []byte("end")), "publish sentinel")
				waitSentinel(t, r)
				noTopicPrefix(t, r, "secret/", "alice's "+filter)
				if n := r.len(); n != 2 {
					t.Errorf("alice got %d messages (%q), want the retained and the live public/x", n, r.topics())
				}
			})
		}
	}
}

// TestReloadMQTT pins what Reauthorize does to MQTT connections after the
// authorization changed: a removed user's connection is closed, a
// subscription the new permissions deny stops receiving, the delivery
// filter of wildcard subscriptions and publish permissions follow the new
// permissions, and a resumed persistent session does not get a denied
// subscription back.
func TestReloadMQTT(t *testing.T) {
	srv := startBroker(t)
	open := auth.Config{Users: []auth.User{
		{Username: "admin", Password: "apw"},
		{Username: "alice", Password: "pw"},
		{Username: "bob", Password: "bpw"},
	}}
	la := newLiveAuth(t, open)
	store := NewMemStore()
	tl := startListener(t, srv, Config{}, Deps{Auth: la.check, Store: store})
	admin := connect(t, pahoOpts(tl.url(), "admin").SetUsername("admin").SetPassword("apw"))
	adminSees := subscribe(t, admin, "#", 0)

	lost := make(chan error, 1)
	bob := connect(t, pahoOpts(tl.url(), "bob").SetUsername("bob").SetPassword("bpw").
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
	bobGot := subscribe(t, bob, "news/#", 0)

	alice := connect(t, pahoOpts(tl.url(), "alice").SetUsername("alice").SetPassword("pw").SetCleanSession(false))
	aliceLiteral := subscribe(t, alice, "secret/a", 1)
	aliceWild := subscribe(t, alice, "+/b", 0)
	// A persistent session that is offline during the reload.
	o := pahoOpts(tl.url(), "alice-persist").SetUsername("alice").SetPassword("pw").SetCleanSession(false)
	persist := connect(t, o)
	subscribe(t, persist, "secret/c", 1)
	persist.Disconnect(10)
	testutil.WaitForf(t, 5*time.Second, func() bool { return tl.Stats().Connections.Load() == 3 }, "the persistent client to leave")

	// Reload: bob is gone, alice may no longer subscribe to or publish on secret.>.
	cfg := aliceDenied()
	cfg.Users[1].Permissions.Publish = &auth.SubjectPermission{Deny: []string{"secret.>"}}
	la.set(cfg)
	tl.Reauthorize()
	if subs := persistSubs(t, store, "alice"); len(subs) != 1 || subs[0].Filter != "+/b" {
		t.Errorf("alice's stored subscriptions after the reload: %v, want only +/b", subs)
	}

	select {
	case err := <-lost:
		if err == nil {
			t.Error("bob's connection lost without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bob's connection still open after a reload that removed him")
	}
	if c := paho.NewClient(pahoOpts(tl.url(), "bob2").SetUsername("bob").SetPassword("bpw")); c.Connect().WaitTimeout(5*time.Second) && c.IsConnected() {
		c.Disconnect(0)
		t.Error("bob can still connect")
	}

	for _, q := range []byte{0, 1} {
		wait(t, admin.Publish("secret/a", q, false, []byte("s")), "publish secret/a")
		wait(t, admin.Publish("secret/b", q, false, []byte("s")), "publish secret/b")
		wait(t, admin.Publish("secret/c", q, false, []byte("s")), "publish secret/c")
	}
	// Alice's publishes on a now denied subject go nowhere.
	wait(t, alice.Publish("secret/b", 1, false, []byte("from alice")), "alice publish secret/b")
	wait(t, alice.Publish("public/b", 0, false, []byte("end")), "alice sentinel")
	waitSentinel(t, aliceWild)
	waitSentinel(t, adminSees)
	noTopicPrefix(t, aliceLiteral, "secret/", "alice's revoked secret/a")
	noTopicPrefix(t, aliceWild, "secret/", "alice's +/b")
	adminSees.mu.Lock()
	for _, m := range adminSees.msgs {
		if string(m.Payload()) == "from alice" {
			t.Errorf("alice's denied publish on %s was routed", m.Topic())
		}
	}
	adminSees.mu.Unlock()
	if n := bobGot.len(); n != 0 {
		t.Errorf("bob got %d messages", n)
	}
	if subs, _, _, _ := store.Session("alice-persist"); len(subs) != 1 {
		t.Fatalf("the offline session's stored subscriptions %v changed before it resumed", subs)
	}

	// The persistent session resumes without the denied subscription, and
	// what was queued for it on that subscription is not delivered.
	resumed := &received{}
	o.SetDefaultPublishHandler(resumed.handler)
	persist = connect(t, o)
	if r := persistSubs(t, store, "alice-persist"); len(r) != 0 {
		t.Errorf("resumed session still stores %v", r)
	}
	wait(t, admin.Publish("secret/c", 1, false, []byte("after resume")), "publish secret/c")
	r := subscribe(t, persist, "public/c", 0)
	wait(t, admin.Publish("public/c", 0, false, []byte("end")), "sentinel")
	waitSentinel(t, r)
	noTopicPrefix(t, resumed, "secret/", "the resumed session")
}

// persistSubs is the stored subscriptions of session id.
func persistSubs(t testing.TB, store *MemStore, id string) []Subscription {
	t.Helper()
	subs, _, ok, err := store.Session(id)
	if err != nil || !ok {
		t.Fatalf("session %s: ok %v, err %v", id, ok, errors.Join(err))
	}
	return subs
}

// TestParentSubjectDeny pins that "a/#", which also matches the topic "a",
// does not deliver "a" to a user who may not subscribe to subject "a".
func TestParentSubjectDeny(t *testing.T) {
	srv := startBroker(t)
	la := newLiveAuth(t, auth.Config{Users: []auth.User{
		{Username: "admin", Password: "apw"},
		{Username: "alice", Password: "pw", Permissions: &auth.Permissions{
			Subscribe: &auth.SubjectPermission{Deny: []string{"alarm"}},
		}},
	}})
	tl := startListener(t, srv, Config{}, Deps{Auth: la.check})
	admin := connect(t, pahoOpts(tl.url(), "admin").SetUsername("admin").SetPassword("apw"))
	alice := connect(t, pahoOpts(tl.url(), "alice").SetUsername("alice").SetPassword("pw"))
	r := subscribe(t, alice, "alarm/#", 0)
	wait(t, admin.Publish("alarm", 0, false, []byte("denied")), "publish alarm")
	wait(t, admin.Publish("alarm/x", 0, false, []byte("end")), "publish alarm/x")
	waitSentinel(t, r)
	if got := r.topics(); len(got) != 1 {
		t.Errorf("alice got %q, want only alarm/x", got)
	}
}
