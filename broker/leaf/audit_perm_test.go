package leaf_test

import (
	"bufio"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/leaf"
)

// TestAuditHubPermissionViolation pins that the hub's permissions
// violation -ERR is an audit event of kind leaf with the direction and
// subject taken from its text. A real nats-server is not used: the
// uplink honours the hub's permissions, so it never provokes this -ERR.
func TestAuditHubPermissionViolation(t *testing.T) {
	t.Parallel()
	subscribed := make(chan struct{})
	hub := startFakeHub(t, func(h *fakeHub, c net.Conn, br *bufio.Reader) {
		if !h.handshake(c, br) {
			return
		}
		<-subscribed // the admin listens before the hub refuses
		c.Write([]byte("-ERR 'Permissions Violation for Publish to \"secret.y\"'\r\n"))
		h.drain(br)
	})
	u := mustURL(hub.url())
	r := remote(u)
	r.User, r.Password = "lu", "lp"
	_, gwURL := startAuditGateway(t, leaf.Config{Remotes: []leaf.Remote{r}})
	admin := connect(t, gwURL, nats.UserInfo("ops", "o"))
	events, err := admin.SubscribeSync("$LEAFBOX.audit.leaf.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Flush(); err != nil {
		t.Fatal(err)
	}
	close(subscribed)
	m, err := events.NextMsg(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	var e audit.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		t.Fatal(err)
	}
	if m.Subject != "$LEAFBOX.audit.leaf.permission_denied" || e.User != "lu" || e.Remote != u.Host ||
		e.Direction != "publish" || e.Subject != "secret.y" {
		t.Fatalf("event %s on %s", m.Data, m.Subject)
	}
}

// FuzzParseViolation feeds arbitrary hub error texts to the violation
// parser: it must not panic, the direction is one of three values and
// the subject is taken from the text. Seeds live in
// testdata/fuzz/FuzzParseViolation.
func FuzzParseViolation(f *testing.F) {
	f.Add(`Permissions Violation for Publish to "secret.y"`)
	f.Add(`Permissions Violation for Subscription to "a.>" using queue "q"`)
	f.Fuzz(func(t *testing.T, text string) {
		dir, subj := leaf.ParseViolation(text)
		if dir != "" && dir != "publish" && dir != "subscribe" {
			t.Fatalf("direction %q", dir)
		}
		if !strings.Contains(text, `"`+subj+`"`) && subj != "" {
			t.Fatalf("subject %q not quoted in %q", subj, text)
		}
	})
}
