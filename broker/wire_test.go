package broker_test

// Scripted raw-socket sessions for the differential wire tests: a session is a
// list of steps (dial, send, expect, expect close, expect quiet, ...) run over
// plain TCP. Every step appends what the server sent to a transcript, so the
// same session run against leafbox and against nats-server can be compared.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

// Timeouts of the wire steps. The only deliberate waits are quietWindow (how
// long drain waits for more) and splitPause (between the chunks of a split
// write, so the server reads them one by one); quiet uses a PING barrier and
// quietFor its own window.
const (
	stepTimeout = 1500 * time.Millisecond
	quietWindow = 100 * time.Millisecond
	splitPause  = time.Millisecond
)

// wireOpts are the server options a session needs, translated to both servers.
type wireOpts struct {
	MaxPayload     int32
	MaxControlLine int32
	PingInterval   time.Duration
	PingMax        int
	AuthTimeout    time.Duration
	Token          string
	Username       string
	Password       string
	Users          []wireUser
	NoAuthUser     string
	MaxSubs        int
	// LameDuck and LameDuckGrace are the lame duck duration and grace period.
	LameDuck, LameDuckGrace time.Duration
	// Accounts and SystemAccount are the accounts block (users name
	// their account in wireUser.Account); see wire_accounts_test.go.
	Accounts      []broker.Account
	SystemAccount string
}

// wireUser is one entry of the users list, with optional permissions. An
// entry with Nkey set is an nkey user (Name and Password unused).
type wireUser struct {
	Account           string
	Name, Password    string
	Nkey              string
	PubAllow, PubDeny []string
	SubAllow, SubDeny []string
}

// hasPermissions reports whether any permission list is set.
func (u wireUser) hasPermissions() bool {
	return len(u.PubAllow)+len(u.PubDeny)+len(u.SubAllow)+len(u.SubDeny) > 0
}

// wireTarget is a running server a session talks to.
type wireTarget struct {
	addr string
	// reload applies new options as a configuration reload would (only
	// their authorization part is used).
	reload func(wireOpts) error
	// lameDuck starts lame duck mode and returns at once.
	lameDuck func()
}

// startNATS starts the reference nats-server with o.
func startNATS(t testing.TB, o wireOpts) wireTarget {
	t.Helper()
	ns := testutil.StartHub(t, natsOptions(o))
	return wireTarget{addr: ns.Addr().String(), reload: func(o wireOpts) error {
		return ns.ReloadOptions(natsOptions(o))
	}, lameDuck: func() { go ns.LameDuckShutdown() }}
}

// natsOptions translates o to nats-server's options.
func natsOptions(o wireOpts) *server.Options {
	opts := &server.Options{
		Host:           "127.0.0.1",
		Port:           -1,
		NoLog:          true,
		NoSigs:         true,
		MaxPayload:     o.MaxPayload,
		MaxControlLine: o.MaxControlLine,
		PingInterval:   o.PingInterval,
		MaxPingsOut:    o.PingMax,
		AuthTimeout:    o.AuthTimeout.Seconds(),
		Authorization:  o.Token,
		Username:       o.Username,
		Password:       o.Password,
		NoAuthUser:     o.NoAuthUser,
		MaxSubs:        o.MaxSubs,
	}
	// Set directly: the config file's minimum of 30s does not apply.
	opts.LameDuckDuration, opts.LameDuckGracePeriod = o.LameDuck, o.LameDuckGrace
	for _, u := range o.Users {
		var perms *server.Permissions
		if u.hasPermissions() {
			perms = &server.Permissions{}
			if len(u.PubAllow)+len(u.PubDeny) > 0 {
				perms.Publish = &server.SubjectPermission{Allow: u.PubAllow, Deny: u.PubDeny}
			}
			if len(u.SubAllow)+len(u.SubDeny) > 0 {
				perms.Subscribe = &server.SubjectPermission{Allow: u.SubAllow, Deny: u.SubDeny}
			}
		}
		if u.Nkey != "" {
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: u.Nkey, Permissions: perms})
			continue
		}
		if u.Account != "" {
			continue // declared in the accounts block (natsAccounts)
		}
		opts.Users = append(opts.Users, &server.User{Username: u.Name, Password: u.Password, Permissions: perms})
	}
	natsAccounts(opts, o)
	return opts
}

// stepKind says what a step does.
type stepKind int

const (
	stepDial    stepKind = iota // connect and read INFO
	stepSend                    // write bytes (in chunks when split is set)
	stepExpect                  // read frames that must match
	stepClosed                  // the server closes the connection
	stepQuiet                   // nothing is due: PING answered by PONG first (or nothing for wait)
	stepSync                    // PING, expect PONG
	stepSpread                  // n equal frames arrive in total over several conns
	stepDrain                   // record whatever arrives until quiet or close
	stepNkey                    // CONNECT signing the INFO nonce with an nkey seed
	stepReload                  // reload the server with new options
	stepDuck                    // put the server in lame duck mode
	stepRefuse                  // a new connection is refused
	stepLDM                     // an INFO with "ldm":true arrives
	stepRespond                 // publish data to the reply subject of the last MSG received
)

// step is one action of a session on connection conn.
type step struct {
	kind  stepKind
	conn  int
	conns []int    // stepSpread, stepQuiet on several conns
	data  string   // stepSend
	split []int    // stepSend: write in chunks of these sizes, pausing between
	want  []string // stepExpect: exact frames, or "re:<regexp>"
	n     int      // stepSpread
	wait  time.Duration
	opts  wireOpts // stepReload
}

// Step constructors, so session tables read like a wire trace.

func dial(c int) step { return step{kind: stepDial, conn: c} }

// dialc dials and sends a CONNECT with verbose and pedantic off.
func dialc(c int) step { return step{kind: stepDial, conn: c, data: connect("")} }

func send(c int, s string) step { return step{kind: stepSend, conn: c, data: s} }
func syncc(c int) step          { return step{kind: stepSync, conn: c} }
func closed(c int) step         { return step{kind: stepClosed, conn: c} }

// quiet expects nothing due on conns (see quietBarrier).
func quiet(cs ...int) step { return step{kind: stepQuiet, conns: cs} }

// connectNkey sends a CONNECT that signs the nonce of c's INFO with seed,
// plus the given extra JSON fields.
func connectNkey(c int, seed, extra string) step {
	return step{kind: stepNkey, conn: c, data: seed, want: []string{extra}}
}

// drain records every frame that arrives on c until nothing comes for
// quietWindow (or the connection closes). It expects nothing in particular:
// the transcript comparison checks leafbox sent the same as nats-server.
func drain(c int) step { return step{kind: stepDrain, conn: c} }

// reload applies o to the server as a configuration reload (SIGHUP) would.
func reload(o wireOpts) step { return step{kind: stepReload, opts: o} }

// lameDuck puts the server in lame duck mode.
func lameDuck() step { return step{kind: stepDuck} }

// expectLDM expects an INFO with "ldm":true on c, recorded normalized.
// INFO frames without it are skipped unrecorded: nats-server sends
// protocol 1 clients a connect_info INFO after their first PING, which is
// not what this step is about.
func expectLDM(c int) step { return step{kind: stepLDM, conn: c} }

// refused dials and expects the connection refused (or closed before INFO).
func refused() step { return step{kind: stepRefuse} }

// quietFor expects nothing on conns for d (used to outlast a server timer).
func quietFor(d time.Duration, cs ...int) step {
	return step{kind: stepQuiet, conns: cs, wait: d}
}
func errLine(text string) string        { return "-ERR '" + text + "'\r\n" }
func expectErr(c int, text string) step { return expect(c, errLine(text)) }

// sendSplit writes s in chunks of the given sizes (the rest in one last chunk).
func sendSplit(c int, s string, sizes ...int) step {
	return step{kind: stepSend, conn: c, data: s, split: sizes}
}

// expect reads len(frames) frames on c; each must equal its frame exactly, or
// match the regular expression after a "re:" prefix.
func expect(c int, frames ...string) step {
	return step{kind: stepExpect, conn: c, want: frames}
}

// expectWithin is expect with a longer timeout, for timer-driven output.
func expectWithin(d time.Duration, c int, frames ...string) step {
	return step{kind: stepExpect, conn: c, want: frames, wait: d}
}

// spread expects n copies of frame in total over conns (queue group delivery),
// and then nothing more on any of them.
func spread(n int, frame string, conns ...int) step {
	return step{kind: stepSpread, conns: conns, data: frame, n: n}
}

// msg renders a MSG frame as a server sends it.
func msg(subj, sid, reply, payload string) string {
	if reply != "" {
		return fmt.Sprintf("MSG %s %s %s %d\r\n%s\r\n", subj, sid, reply, len(payload), payload)
	}
	return fmt.Sprintf("MSG %s %s %d\r\n%s\r\n", subj, sid, len(payload), payload)
}

// hmsg renders an HMSG frame as a server sends it.
func hmsg(subj, sid, reply, hdr, payload string) string {
	if reply != "" {
		return fmt.Sprintf("HMSG %s %s %s %d %d\r\n%s%s\r\n", subj, sid, reply, len(hdr), len(hdr)+len(payload), hdr, payload)
	}
	return fmt.Sprintf("HMSG %s %s %d %d\r\n%s%s\r\n", subj, sid, len(hdr), len(hdr)+len(payload), hdr, payload)
}

// pub renders a PUB operation.
func pub(subj, reply, payload string) string {
	if reply != "" {
		return fmt.Sprintf("PUB %s %s %d\r\n%s\r\n", subj, reply, len(payload), payload)
	}
	return fmt.Sprintf("PUB %s %d\r\n%s\r\n", subj, len(payload), payload)
}

// hpub renders an HPUB operation.
func hpub(subj, reply, hdr, payload string) string {
	if reply != "" {
		return fmt.Sprintf("HPUB %s %s %d %d\r\n%s%s\r\n", subj, reply, len(hdr), len(hdr)+len(payload), hdr, payload)
	}
	return fmt.Sprintf("HPUB %s %d %d\r\n%s%s\r\n", subj, len(hdr), len(hdr)+len(payload), hdr, payload)
}

// session is a scripted wire conversation with the server options it needs.
type session struct {
	name  string
	opts  wireOpts
	steps []step
	// splitAll also runs the session with every send written one byte at a time.
	splitAll bool
}

// wireConn is a client connection that reads whole frames: a control line,
// plus the payload for MSG and HMSG.
type wireConn struct {
	nc    net.Conn
	buf   []byte
	eof   bool
	nonce string // from INFO
	pings int    // PINGs the script sent whose PONG has not been read
	reply string // reply subject of the last MSG or HMSG read
}

// errClosed reports that the server closed the connection.
var errClosed = errors.New("wire: connection closed by server")

// readFrame returns the next frame, reading until deadline.
func (w *wireConn) readFrame(deadline time.Time) (string, error) {
	for {
		if n := frameLen(w.buf); n > 0 {
			f := string(w.buf[:n])
			w.buf = w.buf[n:]
			if f == "PONG\r\n" && w.pings > 0 {
				w.pings--
			}
			return f, nil
		}
		if w.eof {
			return "", errClosed
		}
		if err := w.nc.SetReadDeadline(deadline); err != nil {
			return "", fmt.Errorf("set deadline: %w", err)
		}
		var tmp [4096]byte
		n, err := w.nc.Read(tmp[:])
		w.buf = append(w.buf, tmp[:n]...)
		if err != nil {
			if isClosedErr(err) {
				w.eof = true
				continue
			}
			return "", err
		}
	}
}

// partial returns (and drops) bytes that do not form a whole frame.
func (w *wireConn) partial() string {
	s := string(w.buf)
	w.buf = nil
	return s
}

// isClosedErr reports whether err means the peer closed the connection.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// isTimeout reports whether err is a read deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// frameLen returns the length of the first whole frame in b, or 0.
func frameLen(b []byte) int {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return 0
	}
	line := b[:i]
	if !bytes.HasPrefix(line, []byte("MSG ")) && !bytes.HasPrefix(line, []byte("HMSG ")) {
		return i + 2
	}
	f := bytes.Fields(line)
	size, err := strconv.Atoi(string(f[len(f)-1]))
	if err != nil || size < 0 {
		return i + 2 // malformed: hand the line over as is, the comparison shows it
	}
	if n := i + 2 + size + 2; len(b) >= n {
		return n
	}
	return 0
}

// normalizeInfo keeps the INFO fields both servers must agree on.
func normalizeInfo(frame string) string {
	js, ok := strings.CutPrefix(strings.TrimSuffix(frame, "\r\n"), "INFO ")
	if !ok {
		return frame
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		return "INFO (bad json: " + err.Error() + ")"
	}
	has := func(k string) bool { v, ok := m[k]; return ok && v != "" && v != nil }
	truthy := func(k string) bool { v, _ := m[k].(bool); return v }
	out := fmt.Sprintf("INFO headers=%v max_payload=%v proto=%v auth_required=%v tls_required=%v nonce=%v client_id=%v",
		truthy("headers"), m["max_payload"], m["proto"], truthy("auth_required"), truthy("tls_required"), has("nonce"), has("client_id"))
	if truthy("ldm") {
		out += fmt.Sprintf(" ldm=true client_ip=%v connect_urls=%v", has("client_ip"), has("connect_urls"))
	}
	return out
}

// q quotes a frame for transcripts and messages; long frames are cut, with
// their length and checksum kept so that transcripts still compare exactly.
func q(frame string) string {
	if len(frame) <= 200 {
		return strconv.Quote(frame)
	}
	return fmt.Sprintf("%q...(%d bytes, crc32 %08x)", frame[:80], len(frame), crc32.ChecksumIEEE([]byte(frame)))
}

// infoNonce returns the nonce of an INFO frame, or "".
func infoNonce(frame string) string {
	js, _ := strings.CutPrefix(strings.TrimSuffix(frame, "\r\n"), "INFO ")
	var info struct {
		Nonce string `json:"nonce"`
	}
	_ = json.Unmarshal([]byte(js), &info) // a bad INFO shows in the transcript
	return info.Nonce
}

// nkeyConnect renders a CONNECT that authenticates with the nkey seed by
// signing nonce.
func nkeyConnect(nonce, seed, extra string) (string, error) {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return "", fmt.Errorf("nkey seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("nkey public key: %w", err)
	}
	sig, err := kp.Sign([]byte(nonce))
	if err != nil {
		return "", fmt.Errorf("sign nonce: %w", err)
	}
	fields := fmt.Sprintf(`"nkey":%q,"sig":%q`, pub, base64.RawURLEncoding.EncodeToString(sig))
	if extra != "" {
		fields += "," + extra
	}
	return connect(fields), nil
}

// matchFrame reports whether got satisfies want (exact, or "re:" regexp).
func matchFrame(want, got string) bool {
	if re, ok := strings.CutPrefix(want, "re:"); ok {
		return regexp.MustCompile(re).MatchString(got)
	}
	return want == got
}

// runner executes one session against one server and records a transcript.
type runner struct {
	target   wireTarget
	splitAll bool
	conns    map[int]*wireConn
	log      []string
}

func (r *runner) record(c int, format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("c%d ", c)+fmt.Sprintf(format, args...))
}

// run executes steps in order and stops at the first unmet expectation.
func (r *runner) run(steps []step) error {
	r.conns = make(map[int]*wireConn)
	defer func() {
		for _, w := range r.conns {
			w.nc.Close()
		}
	}()
	for i, s := range steps {
		if err := r.do(s); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

func (r *runner) conn(c int) (*wireConn, error) {
	w, ok := r.conns[c]
	if !ok {
		return nil, fmt.Errorf("connection %d not dialed", c)
	}
	return w, nil
}

func (r *runner) do(s step) error {
	if s.kind == stepReload {
		if err := r.target.reload(s.opts); err != nil {
			return fmt.Errorf("reload: %w", err)
		}
		r.record(0, "reloaded")
		return nil
	}
	if s.kind == stepDuck {
		r.target.lameDuck()
		r.record(0, "lame duck")
		return nil
	}
	if s.kind == stepRefuse {
		nc, err := net.DialTimeout("tcp", r.target.addr, stepTimeout)
		if err != nil {
			r.record(0, "dial refused")
			return nil
		}
		defer nc.Close()
		w := &wireConn{nc: nc}
		f, err := w.readFrame(time.Now().Add(stepTimeout))
		if errors.Is(err, errClosed) {
			r.record(0, "dial refused")
			return nil
		}
		r.record(0, "dial accepted: %s %v", q(f), err)
		return fmt.Errorf("dial during lame duck: got %s, %v", q(f), err)
	}
	if s.kind == stepDial {
		nc, err := net.DialTimeout("tcp", r.target.addr, stepTimeout)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		w := &wireConn{nc: nc}
		r.conns[s.conn] = w
		f, err := w.readFrame(time.Now().Add(stepTimeout))
		if err != nil {
			r.record(s.conn, "dial: %v", err)
			return fmt.Errorf("read INFO: %w", err)
		}
		r.record(s.conn, "%s", normalizeInfo(f))
		w.nonce = infoNonce(f)
		if !strings.HasPrefix(f, "INFO ") {
			return fmt.Errorf("first frame %s is not INFO", q(f))
		}
		if s.data != "" {
			return r.write(w, step{data: s.data})
		}
		return nil
	}
	if s.kind == stepQuiet || s.kind == stepSpread {
		return r.doMulti(s)
	}
	w, err := r.conn(s.conn)
	if err != nil {
		return err
	}
	timeout := stepTimeout
	if s.wait > 0 {
		timeout = s.wait
	}
	switch s.kind {
	case stepSend:
		return r.write(w, s)
	case stepSync:
		if err := r.write(w, step{data: "PING\r\n"}); err != nil {
			return err
		}
		return r.expectFrames(s.conn, w, []string{"PONG\r\n"}, timeout)
	case stepExpect:
		return r.expectFrames(s.conn, w, s.want, timeout)
	case stepLDM:
		deadline := time.Now().Add(timeout)
		for {
			f, err := w.readFrame(deadline)
			if err != nil {
				r.record(s.conn, "no ldm INFO: %v", err)
				return fmt.Errorf("want an ldm INFO: %w", err)
			}
			if !strings.HasPrefix(f, "INFO ") {
				r.record(s.conn, "< %s", q(f))
				return fmt.Errorf("want an ldm INFO, got %s", q(f))
			}
			if n := normalizeInfo(f); strings.Contains(n, " ldm=true") {
				r.record(s.conn, "%s", n)
				return nil
			}
		}
	case stepClosed:
		f, err := w.readFrame(time.Now().Add(timeout))
		switch {
		case errors.Is(err, errClosed):
			if p := w.partial(); p != "" {
				r.record(s.conn, "partial %s, closed", q(p))
				return fmt.Errorf("partial frame %s before close", q(p))
			}
			r.record(s.conn, "closed")
			return nil
		case err != nil:
			r.record(s.conn, "not closed: %v", err)
			return fmt.Errorf("expected close: %w", err)
		default:
			r.record(s.conn, "< %s", q(f))
			return fmt.Errorf("expected close, got %s", q(f))
		}
	case stepRespond:
		if w.reply == "" {
			return errors.New("respond: no reply subject received")
		}
		return r.write(w, step{data: pub(w.reply, "", s.data)})
	case stepNkey:
		line, err := nkeyConnect(w.nonce, s.data, s.want[0])
		if err != nil {
			return err
		}
		return r.write(w, step{data: line})
	case stepDrain:
		for {
			f, err := w.readFrame(time.Now().Add(quietWindow))
			switch {
			case isTimeout(err):
				r.record(s.conn, "quiet")
				return nil
			case errors.Is(err, errClosed):
				if p := w.partial(); p != "" {
					r.record(s.conn, "partial %s, closed", q(p))
				} else {
					r.record(s.conn, "closed")
				}
				return nil
			case err != nil:
				r.record(s.conn, "error %v", err)
				return fmt.Errorf("drain: %w", err)
			}
			r.record(s.conn, "< %s", q(f))
		}
	}
	return fmt.Errorf("unknown step kind %d", s.kind)
}

// write sends s.data, in chunks with a pause between them when asked to.
func (r *runner) write(w *wireConn, s step) error {
	w.pings += countPings(s.data)
	data := []byte(s.data)
	var chunks [][]byte
	switch {
	case r.splitAll:
		for i := range data {
			chunks = append(chunks, data[i:i+1])
		}
	case len(s.split) > 0:
		rest := data
		for _, n := range s.split {
			n = min(n, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		if len(rest) > 0 {
			chunks = append(chunks, rest)
		}
	default:
		chunks = [][]byte{data}
	}
	for i, c := range chunks {
		if i > 0 {
			time.Sleep(splitPause) // lets the server read each chunk on its own
		}
		if err := w.nc.SetWriteDeadline(time.Now().Add(stepTimeout)); err != nil {
			return fmt.Errorf("set write deadline: %w", err)
		}
		if _, err := w.nc.Write(c); err != nil {
			// The server may close while we still write (e.g. after an error);
			// what it sent is checked by the following steps.
			if isClosedErr(err) {
				return nil
			}
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

func (r *runner) expectFrames(c int, w *wireConn, want []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, wf := range want {
		f, err := w.readFrame(deadline)
		switch {
		case errors.Is(err, errClosed):
			if p := w.partial(); p != "" {
				r.record(c, "partial %s, closed", q(p))
			} else {
				r.record(c, "closed")
			}
			return fmt.Errorf("want %s, connection closed", q(wf))
		case isTimeout(err):
			if p := w.partial(); p != "" {
				r.record(c, "partial %s, timeout", q(p))
			} else {
				r.record(c, "timeout")
			}
			return fmt.Errorf("want %s, got nothing within %v", q(wf), timeout)
		case err != nil:
			r.record(c, "error %v", err)
			return fmt.Errorf("want %s: %w", q(wf), err)
		}
		if strings.HasPrefix(f, "INFO ") {
			r.record(c, "< %s", normalizeInfo(f)) // server ids, ports and keys differ
		} else {
			w.reply = replyOf(f, w.reply)
			r.record(c, "< %s", q(normalizeReplies(f))) // service reply subjects are random
		}
		if !matchFrame(wf, f) {
			return fmt.Errorf("want %s, got %s", q(wf), q(f))
		}
	}
	return nil
}

// countPings counts the lines of data that a server takes for a PING (any
// case, anything after it ignored). A payload line starting with PING is
// counted too, which can only make a later quiet step fail, never pass.
func countPings(data string) int {
	n := 0
	for line := range strings.Lines(data) {
		if len(line) >= 4 && strings.EqualFold(line[:4], "PING") {
			n++
		}
	}
	return n
}

// quietBarrier checks that nothing is due on any of conns: it sends PING on
// each and wants PONG as the next frame. A server writes a connection's
// frames in order, so a message routed to it by an earlier step (one that
// synced its publisher) comes first, however slow the machine; and a PONG
// still owed to an earlier PING of the script is not quiet either.
func (r *runner) quietBarrier(conns []int) error {
	for _, c := range conns {
		w, err := r.conn(c)
		if err != nil {
			return err
		}
		owed := w.pings
		if err := r.write(w, step{data: "PING\r\n"}); err != nil {
			return err
		}
		f, err := w.readFrame(time.Now().Add(stepTimeout))
		switch {
		case errors.Is(err, errClosed):
			r.record(c, "closed")
			return errors.New("expected quiet, connection closed")
		case err != nil:
			r.record(c, "error %v", err)
			return fmt.Errorf("quiet: %w", err)
		case f != "PONG\r\n" || owed > 0:
			r.record(c, "< %s", q(f))
			return fmt.Errorf("expected quiet, got %s", q(f))
		}
	}
	r.record(conns[0], "quiet %v", conns)
	return nil
}

// doMulti runs stepQuiet and stepSpread, which look at several connections.
func (r *runner) doMulti(s step) error {
	if s.kind == stepSpread {
		deadline := time.Now().Add(stepTimeout)
		got := 0
		for got < s.n && time.Now().Before(deadline) {
			for _, c := range s.conns {
				w, err := r.conn(c)
				if err != nil {
					return err
				}
				f, err := w.readFrame(time.Now().Add(5 * time.Millisecond))
				if isTimeout(err) {
					continue
				}
				if err != nil {
					r.record(c, "error %v", err)
					return fmt.Errorf("spread: %w", err)
				}
				if !matchFrame(s.data, f) {
					r.record(c, "< %s", q(f))
					return fmt.Errorf("spread: want %s, got %s", q(s.data), q(f))
				}
				got++
			}
		}
		r.record(s.conns[0], "spread %d x %s over %v", got, q(s.data), s.conns)
		if got != s.n {
			return fmt.Errorf("spread: got %d of %d frames", got, s.n)
		}
	}
	if s.wait == 0 {
		return r.quietBarrier(s.conns)
	}
	window := s.wait
	// All connections are watched at once: a read whose deadline has already
	// passed fails without looking at data that did arrive.
	type result struct {
		frame string
		err   error
	}
	results := make([]result, len(s.conns))
	var wg sync.WaitGroup
	deadline := time.Now().Add(window)
	for i, c := range s.conns {
		w, err := r.conn(c)
		if err != nil {
			return err
		}
		wg.Go(func() {
			f, err := w.readFrame(deadline)
			results[i] = result{f, err}
		})
	}
	wg.Wait()
	for i, c := range s.conns {
		f, err := results[i].frame, results[i].err
		switch {
		case isTimeout(err):
			continue
		case errors.Is(err, errClosed):
			r.record(c, "closed")
			return errors.New("expected quiet, connection closed")
		case err != nil:
			r.record(c, "error %v", err)
			return fmt.Errorf("quiet: %w", err)
		}
		r.record(c, "< %s", q(f))
		return fmt.Errorf("expected quiet, got %s", q(f))
	}
	r.record(s.conns[0], "quiet %v", s.conns)
	return nil
}

// runAgainst runs sess against the server tg.
func runAgainst(tg wireTarget, sess session, splitAll bool) ([]string, error) {
	r := &runner{target: tg, splitAll: splitAll}
	err := r.run(sess.steps)
	return r.log, err
}

// diffTranscripts renders both transcripts side by side from the first
// difference on, or "" when they are equal.
func diffTranscripts(ref, got []string) string {
	i := 0
	for i < len(ref) && i < len(got) && ref[i] == got[i] {
		i++
	}
	if i == len(ref) && i == len(got) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d\n", i)
	from := max(0, i-3)
	b.WriteString("nats-server:\n")
	for _, l := range ref[from:] {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("leafbox:\n")
	for _, l := range got[from:] {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// runDiff runs sess against nats-server (the reference, which must meet every
// expectation: otherwise the script is wrong) and against leafbox, and fails
// when leafbox misses an expectation or its transcript differs.
func runDiff(t *testing.T, sess session, splitAll bool) {
	t.Helper()
	ref, err := runAgainst(startNATS(t, sess.opts), sess, splitAll)
	if err != nil {
		t.Fatalf("reference nats-server does not follow the script: %v\ntranscript:\n  %s", err, strings.Join(ref, "\n  "))
	}
	tg, ok := startLeafbox(t, sess.opts)
	if !ok {
		return
	}
	got, err := runAgainst(tg, sess, splitAll)
	if err != nil {
		t.Errorf("leafbox: %v", err)
	}
	if d := diffTranscripts(ref, got); d != "" {
		t.Errorf("transcripts differ:\n%s", d)
	}
}
