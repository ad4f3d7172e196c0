package proto

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/leafbox/leafbox/internal/testutil"
)

// diffSkip lists golden cases whose nats-server outcome depends on more than the parser.
var diffSkip = map[string]string{
	"client HMSG":         "deliberate difference: nats-server accepts HMSG from a client and mishandles it",
	"err":                 "nats-server closes a client that sends -ERR (broker policy, not parsing)",
	"err lower tab":       "as err",
	"connect empty":       "empty CONNECT JSON closes the connection in processConnect (ParseConnect's job)",
	"pipeline":            "CONNECT {} turns headers off, so nats-server closes on the HPUB (broker policy)",
	"ping unterminated":   "partial",
	"pub partial payload": "partial",
	"pub partial line":    "partial",
}

// TestDifferentialNATSServer sends every golden case to a real nats-server and checks the
// parts this package claims to match: the -ERR text (or its absence) and that the
// connection is closed on error, or answered (PONG to a trailing PING) when the case is ok.
func TestDifferentialNATSServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	servers := map[[2]int]string{}
	addrFor := func(c wireCase) string {
		key := [2]int{c.mcl, c.maxPayload}
		if a, ok := servers[key]; ok {
			return a
		}
		opts := &server.Options{MaxControlLine: int32(c.mcl), MaxPayload: int32(c.maxPayload)}
		if c.maxPayload < 0 {
			opts.MaxPayload = 64 << 20
		}
		s := testutil.StartHub(t, opts)
		servers[key] = s.Addr().String()
		return servers[key]
	}
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := diffSkip[c.name]; ok {
				t.Skip(why)
			}
			conn, err := net.Dial("tcp", addrFor(c))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			var out bytes.Buffer
			// A CONNECT would itself break a small max_control_line; without auth the server
			// takes operations without one (then verbose is on, so +OK lines may appear).
			if c.mcl == 0 {
				out.WriteString(`CONNECT {"verbose":false,"pedantic":false,"headers":` + map[bool]string{true: "false", false: "true"}[c.rejectHeaders] + "}\r\n")
			}
			out.WriteString(c.in)
			if c.err == nil {
				out.WriteString("PING\r\n")
			}
			got := readReply(t, conn, out.Bytes(), c.err == nil)
			if c.err == nil {
				if strings.Contains(got, "-ERR") || !strings.HasSuffix(got, "PONG\r\n") {
					t.Fatalf("nats-server answered %q, want PONG and no -ERR", got)
				}
				return
			}
			text, ok := ErrText(c.err)
			switch {
			case ok && !strings.Contains(got, "-ERR '"+text+"'\r\n"):
				t.Fatalf("nats-server answered %q, want -ERR '%s'", got, text)
			case !ok && strings.Contains(got, "-ERR"):
				t.Fatalf("nats-server answered %q, want a silent close", got)
			}
		})
	}
}

// readReply writes in, skips the INFO and returns what the server sends until it closes the
// connection (wantPong false) or until the reply ends with PONG (wantPong true).
func readReply(t *testing.T, conn net.Conn, in []byte, wantPong bool) string {
	t.Helper()
	if _, err := conn.Write(in); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if i := bytes.Index(got, []byte("\r\n")); bytes.HasPrefix(got, []byte("INFO ")) && i >= 0 {
			got = got[i+2:]
		}
		if wantPong && bytes.HasSuffix(got, []byte("PONG\r\n")) {
			return string(got)
		}
		if err == io.EOF || err != nil && !wantPong {
			if err != io.EOF && !isReset(err) {
				t.Fatalf("read: %v (got %q)", err, got)
			}
			return string(got)
		}
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}
