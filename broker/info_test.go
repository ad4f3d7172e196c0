package broker_test

// Server identity in INFO: the fields leafbox sends must be the ones
// nats-server v2.15.2 sends, with values a client can rely on (a semantic
// version, the JetStream API level), and the second INFO after CONNECT.

import (
	"bufio"
	"encoding/json"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker"
)

// connectInfoFrame matches the INFO nats-server sends after the first PING
// that follows CONNECT.
// (nats-server ends INFO with "} \r\n", leafbox with "}\r\n").
const connectInfoFrame = `re:^INFO \{.*"connect_info":true.*\} ?\r\n$`

func TestDiffConnectInfo(t *testing.T) {
	users := wireOpts{Users: []wireUser{{Name: "a", Password: "p"}}, NoAuthUser: "a"}
	runSessions(t, []session{
		{name: "after-first-ping-protocol-1", splitAll: true, steps: []step{
			dial(1), send(1, connect(`"protocol":1`)+"PING\r\n"), expect(1, "PONG\r\n", connectInfoFrame),
			send(1, "PING\r\n"), expect(1, "PONG\r\n"), quiet(1),
		}},
		{name: "verbose", steps: []step{
			dial(1), send(1, connect(`"protocol":1,"verbose":true`)), expect(1, "+OK\r\n"),
			send(1, "PING\r\n"), expect(1, "PONG\r\n", connectInfoFrame), quiet(1),
		}},
		{name: "none-for-protocol-0", steps: []step{
			dial(1), send(1, connect(`"protocol":0`)+"PING\r\n"), expect(1, "PONG\r\n"), quiet(1),
		}},
		// A PING before CONNECT does not use up the first PONG.
		{name: "ping-before-connect", steps: []step{
			dial(1), send(1, "PING\r\n"), expect(1, "PONG\r\n"),
			send(1, connect(`"protocol":1`)+"PING\r\n"), expect(1, "PONG\r\n", connectInfoFrame), quiet(1),
		}},
		// Only the first PING after CONNECT counts, even when a later CONNECT
		// raises the protocol.
		{name: "first-ping-only", steps: []step{
			dial(1), send(1, connect(`"protocol":0`)+"PING\r\n"), expect(1, "PONG\r\n"),
			send(1, connect(`"protocol":1`)+"PING\r\n"), expect(1, "PONG\r\n"), quiet(1),
		}},
		// A no_auth_user client that skips CONNECT never gets it.
		{name: "no-auth-user-without-connect", opts: users, steps: []step{
			dial(1), send(1, "PING\r\n"), expect(1, "PONG\r\n"), send(1, "PING\r\n"), expect(1, "PONG\r\n"), quiet(1),
		}},
		{name: "authenticated-user", opts: users, steps: []step{
			dial(1), send(1, connect(`"protocol":1,"user":"a","pass":"p"`)+"PING\r\n"),
			expect(1, "PONG\r\n", connectInfoFrame), quiet(1),
		}},
	})
}

// TestDiffInfoFieldSet compares the INFO fields leafbox sends, first on
// connect and then after CONNECT, with nats-server's: the same field names,
// and the same values where a client acts on them.
func TestDiffInfoFieldSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts wireOpts
	}{
		{"open", wireOpts{}},
		{"users", wireOpts{Users: []wireUser{{Name: "a", Password: "p"}}}},
		{"no-auth-user", wireOpts{Users: []wireUser{{Name: "a", Password: "p"}}, NoAuthUser: "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := startNATS(t, tc.opts)
			lb, _ := startLeafbox(t, tc.opts)
			conn := connect(`"protocol":1,"user":"a","pass":"p"`)
			refFirst, refSecond := infoPair(t, ref.addr, conn)
			lbFirst, lbSecond := infoPair(t, lb.addr, conn)

			for _, p := range []struct {
				which    string
				ref, got map[string]any
			}{{"first", refFirst, lbFirst}, {"connect_info", refSecond, lbSecond}} {
				if want, got := slices.Sorted(maps.Keys(p.ref)), slices.Sorted(maps.Keys(p.got)); !slices.Equal(want, got) {
					t.Errorf("%s INFO fields:\n got %v\nwant %v", p.which, got, want)
				}
				for _, k := range []string{"proto", "headers", "max_payload", "api_lvl", "host", "auth_required",
					"jetstream", "connect_info", "remote_account", "acc_is_sys"} {
					if p.ref[k] != p.got[k] {
						t.Errorf("%s INFO %s = %v, nats-server sends %v", p.which, k, p.got[k], p.ref[k])
					}
				}
				if p.got["client_id"] != lbFirst["client_id"] || p.got["client_id"] == nil {
					t.Errorf("%s INFO client_id = %v, want the first INFO's %v", p.which, p.got["client_id"], lbFirst["client_id"])
				}
				if xkey, _ := p.got["xkey"].(string); !isCurveKey(xkey) {
					t.Errorf("%s INFO xkey %q is not a public curve key", p.which, xkey)
				}
				// The protocol level, as a semantic version, is the reference's;
				// leafbox's own version rides along as build metadata.
				refVer, _ := p.ref["version"].(string)
				gotVer, _ := p.got["version"].(string)
				if core, meta, ok := strings.Cut(gotVer, "+"); !ok || core != refVer || !strings.HasPrefix(meta, "leafbox.") {
					t.Errorf("%s INFO version %q, want %s+leafbox.<version>", p.which, gotVer, refVer)
				}
				if !semverRe.MatchString(gotVer) {
					t.Errorf("%s INFO version %q is not a semantic version", p.which, gotVer)
				}
			}
		})
	}
}

// isCurveKey reports whether k is an nkeys public curve (x25519) key.
func isCurveKey(k string) bool {
	_, err := nkeys.Decode(nkeys.PrefixByteCurve, []byte(k))
	return err == nil
}

// semverRe is the grammar of semver.org 2.0.0 (the regular expression it
// suggests), which nats.py's parser follows.
var semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// infoPair dials addr, sends connectLine and a PING, and returns the INFO
// sent on connect and the one sent after the PONG, decoded.
func infoPair(t *testing.T, addr, connectLine string) (first, second map[string]any) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitShort)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(waitShort)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	br := bufio.NewReader(nc)
	readInfo := func() map[string]any {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read from %s (got %q): %v", addr, line, err)
		}
		js, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "INFO ")
		if !ok {
			t.Fatalf("from %s: %q, want INFO", addr, line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			t.Fatalf("decode INFO from %s: %v", addr, err)
		}
		return m
	}
	first = readInfo()
	if _, err := nc.Write([]byte(connectLine + "PING\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "PONG\r\n" {
		t.Fatalf("from %s: %q, %v, want PONG", addr, line, err)
	}
	return first, readInfo()
}

// TestNatsGoSeesCurrentServerVersion pins that nats.go's version checks pass:
// it creates consumers through the API subject that needs 2.9.0 or later
// (local clients reach the hub's JetStream through the leafnode), here
// answered by a stand-in that records the subject.
func TestNatsGoSeesCurrentServerVersion(t *testing.T) {
	_, url := startBroker(t, broker.Config{})
	spy := natsConnect(t, url)
	subjects := make(chan string, 1)
	// AddConsumer first looks the consumer up: not found, so it creates it.
	if _, err := spy.Subscribe("$JS.API.CONSUMER.INFO.>", func(m *nats.Msg) {
		_ = m.Respond([]byte(`{"error":{"code":404,"err_code":10014,"description":"consumer not found"}}`))
	}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if _, err := spy.Subscribe("$JS.API.CONSUMER.*.>", func(m *nats.Msg) {
		if strings.HasPrefix(m.Subject, "$JS.API.CONSUMER.INFO.") {
			return
		}
		subjects <- m.Subject
		_ = m.Respond([]byte(`{"error":{"code":503,"err_code":10039,"description":"stand-in"}}`))
	}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	flush(t, spy)

	nc := natsConnect(t, url)
	if v := nc.ConnectedServerVersion(); !semverRe.MatchString(v) {
		t.Errorf("ConnectedServerVersion() = %q, not a semantic version", v)
	}
	js, err := nc.JetStream(nats.MaxWait(waitShort))
	if err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	if _, err := js.AddConsumer("S", &nats.ConsumerConfig{Durable: "d"}); err == nil {
		t.Fatal("AddConsumer succeeded against the stand-in")
	}
	select {
	case got := <-subjects:
		if want := "$JS.API.CONSUMER.CREATE.S.d"; got != want {
			t.Errorf("nats.go created the consumer on %s, want %s (it takes the server for older than 2.9.0)", got, want)
		}
	default:
		t.Fatal("the stand-in saw no request")
	}
}
