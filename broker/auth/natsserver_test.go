package auth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/leafbox/leafbox/internal/testutil"
)

// These tests ask a real nats-server (the reference) the same permission
// questions as a Checker, over a raw client connection per user.

// toServerPerms converts our permissions to nats-server's.
func toServerPerms(p *Permissions) *server.Permissions {
	if p == nil {
		return nil
	}
	conv := func(sp *SubjectPermission) *server.SubjectPermission {
		if sp == nil {
			return nil
		}
		return &server.SubjectPermission{Allow: sp.Allow, Deny: sp.Deny}
	}
	return &server.Permissions{Publish: conv(p.Publish), Subscribe: conv(p.Subscribe)}
}

// startRefServer runs a nats-server with one user per permission set
// (user "u<i>") and an unrestricted "admin".
func startRefServer(t *testing.T, perms []*Permissions) string {
	t.Helper()
	users := []*server.User{{Username: "admin", Password: "pw"}}
	for i, p := range perms {
		users = append(users, &server.User{Username: fmt.Sprintf("u%d", i), Password: "pw", Permissions: toServerPerms(p)})
	}
	s := testutil.StartHub(t, &server.Options{Users: users})
	return s.Addr().String()
}

// rawConn is a minimal NATS client that reports protocol lines.
type rawConn struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	sid int
}

func dialRaw(t *testing.T, addr, user string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	if line := rc.line(); !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("want INFO, got %q", line)
	}
	connect, _ := json.Marshal(map[string]any{"user": user, "pass": "pw", "verbose": false, "pedantic": false, "protocol": 1})
	for _, l := range rc.roundTrip("CONNECT " + string(connect) + "\r\n") {
		t.Fatalf("connect as %s: %q", user, l)
	}
	return rc
}

func (rc *rawConn) line() string {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// roundTrip sends cmd and a PING, and returns the lines received before the
// PONG (MSG payloads are skipped).
func (rc *rawConn) roundTrip(cmd string) []string {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(cmd + "PING\r\n")); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
	var lines []string
	for {
		l := rc.line()
		switch {
		case l == "PONG":
			return lines
		case strings.HasPrefix(l, "MSG "):
			rc.line() // payload
		}
		lines = append(lines, l)
	}
}

func violated(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "-ERR 'Permissions Violation") {
			return true
		}
	}
	return false
}

func (rc *rawConn) canPublish(subject string) bool {
	return !violated(rc.roundTrip("PUB " + subject + " 0\r\n\r\n"))
}

func (rc *rawConn) subscribe(subject, queue string) (sid int, ok bool) {
	rc.sid++
	cmd := fmt.Sprintf("SUB %s %d\r\n", subject, rc.sid)
	if queue != "" {
		cmd = fmt.Sprintf("SUB %s %s %d\r\n", subject, queue, rc.sid)
	}
	return rc.sid, !violated(rc.roundTrip(cmd))
}

func (rc *rawConn) canSubscribe(subject, queue string) bool {
	sid, ok := rc.subscribe(subject, queue)
	if ok {
		rc.roundTrip(fmt.Sprintf("UNSUB %d\r\n", sid))
	}
	return ok
}

// delivered subscribes rc to sub (queue), has admin publish to subject, and
// reports whether rc received it.
func (rc *rawConn) delivered(admin *rawConn, sub, queue, subject string) bool {
	sid, ok := rc.subscribe(sub, queue)
	if !ok {
		rc.t.Fatalf("reference refused sub %q queue %q", sub, queue)
	}
	defer rc.roundTrip(fmt.Sprintf("UNSUB %d\r\n", sid))
	admin.roundTrip("PUB " + subject + " 2\r\nhi\r\n")
	for _, l := range rc.roundTrip("") {
		if strings.HasPrefix(l, "MSG "+subject+" ") {
			return true
		}
	}
	return false
}

func (rc *rawConn) ask(admin *rawConn, pc permCheck) bool {
	switch pc.op {
	case "pub":
		return rc.canPublish(pc.subject)
	case "sub":
		return rc.canSubscribe(pc.subject, pc.queue)
	default:
		return rc.delivered(admin, pc.sub, pc.queue, pc.subject)
	}
}

// TestPermTableMatchesNATSServer checks the expected answers of permTable
// against nats-server itself, so the table is not just our own reading.
func TestPermTableMatchesNATSServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server")
	}
	var perms []*Permissions
	for _, tc := range permTable {
		perms = append(perms, tc.perms)
	}
	addr := startRefServer(t, perms)
	admin := dialRaw(t, addr, "admin")
	for i, tc := range permTable {
		rc := dialRaw(t, addr, fmt.Sprintf("u%d", i))
		for _, pc := range tc.checks {
			if got := rc.ask(admin, pc); got != pc.want {
				t.Errorf("%s: nats-server says %s %q queue %q (sub %q) = %v, table says %v",
					tc.name, pc.op, pc.subject, pc.queue, pc.sub, got, pc.want)
			}
		}
	}
}

// TestCheckerMatchesNATSServer compares random permission sets and
// questions with nats-server's answers.
func TestCheckerMatchesNATSServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const users, checksPerUser = 40, 40
	perms := make([]*Permissions, users)
	for i := range perms {
		perms[i] = randomPerms(rng)
	}
	addr := startRefServer(t, perms)
	admin := dialRaw(t, addr, "admin")
	for i, p := range perms {
		c, err := NewChecker(p)
		if err != nil {
			t.Fatalf("NewChecker(%+v): %v", p, err)
		}
		rc := dialRaw(t, addr, fmt.Sprintf("u%d", i))
		for range checksPerUser {
			pc := randomCheck(rng)
			if pc.op == "deliver" && !c.CanSubscribe([]byte(pc.sub), []byte(pc.queue)) {
				pc.op, pc.subject = "sub", pc.sub
			}
			if got, want := pc.ask(c), rc.ask(admin, pc); got != want {
				t.Errorf("perms %s: %s %q queue %q (sub %q) = %v, nats-server says %v",
					fmtPerms(p), pc.op, pc.subject, pc.queue, pc.sub, got, want)
			}
		}
	}
}

var (
	randTokens = []string{"a", "b", "*", ">"}
	litTokens  = []string{"a", "b", "c"}
	randQueues = []string{"q", "r", "*", "q.*"}
)

// randomSubject returns a valid subject of 1 to 3 tokens from toks.
func randomSubject(rng *rand.Rand, toks []string) string {
	n := 1 + rng.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = toks[rng.IntN(len(toks))]
		if parts[i] == ">" && i != n-1 {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, ".")
}

func randomEntries(rng *rand.Rand, queues bool) []string {
	var out []string
	for range rng.IntN(4) {
		e := randomSubject(rng, randTokens)
		if queues && rng.IntN(3) == 0 {
			e += " " + randQueues[rng.IntN(len(randQueues))]
		}
		out = append(out, e)
	}
	return out
}

func randomPerms(rng *rand.Rand) *Permissions {
	return &Permissions{
		Publish:   &SubjectPermission{Allow: randomEntries(rng, false), Deny: randomEntries(rng, false)},
		Subscribe: &SubjectPermission{Allow: randomEntries(rng, true), Deny: randomEntries(rng, true)},
	}
}

func randomCheck(rng *rand.Rand) permCheck {
	queue := ""
	if rng.IntN(3) == 0 {
		queue = []string{"q", "r", "q.x"}[rng.IntN(3)]
	}
	switch rng.IntN(3) {
	case 0:
		return permCheck{op: "pub", subject: randomSubject(rng, litTokens)}
	case 1:
		return permCheck{op: "sub", subject: randomSubject(rng, append(litTokens, "*", ">")), queue: queue}
	default:
		sub := randomSubject(rng, []string{"a", "*", ">"})
		return permCheck{op: "deliver", sub: sub, queue: queue, subject: instantiate(rng, sub)}
	}
}

// instantiate returns a literal subject that sub matches.
func instantiate(rng *rand.Rand, sub string) string {
	var parts []string
	for _, tok := range strings.Split(sub, ".") {
		switch tok {
		case "*":
			parts = append(parts, litTokens[rng.IntN(len(litTokens))])
		case ">":
			for range 1 + rng.IntN(2) {
				parts = append(parts, litTokens[rng.IntN(len(litTokens))])
			}
		default:
			parts = append(parts, tok)
		}
	}
	return strings.Join(parts, ".")
}

func fmtPerms(p *Permissions) string {
	return fmt.Sprintf("pub%+v sub%+v", *p.Publish, *p.Subscribe)
}
