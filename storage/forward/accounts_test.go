package forward_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// TestForwardInAccount pins store-and-forward in the uplink's account: the
// rules queue what that account publishes (publish acks answered there),
// drain it to the hub, and leave the global account's publishes on the same
// subjects alone.
func TestForwardInAccount(t *testing.T) {
	h := newHub(t)
	h.start()
	g := startGateway(t, gwOptions{hub: h.leafURL(),
		rules: []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}, Ack: storage.AckJetStream}},
		fcfg:  forward.Config{Account: "A"},
		bcfg: broker.Config{
			Auth: auth.Config{Users: []auth.User{
				{Username: "a", Password: "a", Account: "A"},
				{Username: "g", Password: "g"},
			}},
			Accounts: []broker.Account{{Name: "A"}},
		}})
	ncA, err := nats.Connect(g.url, nats.UserInfo("a", "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer ncA.Close()
	ncG, err := nats.Connect(g.url, nats.UserInfo("g", "g"))
	if err != nil {
		t.Fatal(err)
	}
	defer ncG.Close()

	// The global account has no rule: nobody answers a JetStream publish.
	for i := range 3 {
		if err := ncG.Publish("telemetry.g", []byte("g"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	ncG.Flush()
	js, _ := jetstream.New(ncA)
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	want := make([]string, 5)
	for i := range want {
		want[i] = "a" + strconv.Itoa(i)
		ack, err := js.Publish(ctx, "telemetry.a", []byte(want[i]))
		if err != nil {
			t.Fatalf("publish %d in account A: %v", i, err)
		}
		if ack.Stream != "TELEMETRY" {
			t.Fatalf("ack %+v", ack)
		}
	}
	q := g.store.Queue("TELEMETRY")
	testutil.WaitForf(t, waitLong, func() bool { return h.streamCount() >= uint64(len(want)) && q.Len() == 0 }, "account A's messages in the hub stream")
	checkStream(t, h, want)
}
