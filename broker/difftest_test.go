package broker_test

// Differential wire tests: every session below runs over raw TCP against an
// embedded nats-server v2.15.2 (the reference) and against leafbox with the
// same options. The reference must meet each expectation (so the scripts
// document nats-server's real behaviour) and leafbox's transcript must equal
// the reference's, INFO compared on selected fields only (see normalizeInfo).

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

// runSessions runs each session as a parallel subtest, and once more with
// every write split into single bytes when the session asks for it.
func runSessions(t *testing.T, sessions []session) {
	t.Helper()
	for _, s := range sessions {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			runDiff(t, s, false)
		})
		if s.splitAll {
			t.Run(s.name+"/bytewise", func(t *testing.T) {
				t.Parallel()
				runDiff(t, s, true)
			})
		}
	}
}

// connect renders a CONNECT with the given JSON fields; verbose and pedantic
// are set to false unless fields sets them, because nats-server defaults both
// to true when CONNECT leaves them out.
func connect(fields string) string {
	var extra []string
	for _, k := range []string{"verbose", "pedantic"} {
		if !strings.Contains(fields, `"`+k+`"`) {
			extra = append(extra, `"`+k+`":false`)
		}
	}
	if fields != "" {
		extra = append(extra, fields)
	}
	return "CONNECT {" + strings.Join(extra, ",") + "}\r\n"
}

// binaryPayload holds every byte value, including CR and LF pairs.
func binaryPayload() string {
	var b strings.Builder
	for i := range 256 {
		b.WriteByte(byte(i))
	}
	b.WriteString("\r\n\r\nMSG x 1 2\r\n")
	return b.String()
}

func TestDiffConnect(t *testing.T) {
	runSessions(t, []session{
		{name: "ping-before-connect", steps: []step{
			dial(1), syncc(1),
		}},
		{name: "connect-then-ping", splitAll: true, steps: []step{
			dial(1), send(1, connect("")), syncc(1), quiet(1),
		}},
		// nats-server's defaults for options CONNECT leaves out are verbose and pedantic on.
		// Not run bytewise: when a PUB's payload arrives in a later read, nats-server
		// re-parses the control line and sends "Invalid Publish Subject" twice.
		{name: "connect-empty-means-verbose-pedantic", steps: []step{
			dial(1), send(1, "CONNECT {}\r\n"), expect(1, "+OK\r\n"), syncc(1),
			send(1, "SUB foo 1\r\n"), expect(1, "+OK\r\n"),
			send(1, pub("foo.*", "", "x")), expect(1, errLine("Invalid Publish Subject"), "+OK\r\n"),
			send(1, pub("foo", "", "x")), expect(1, "+OK\r\n", msg("foo", "1", "", "x")),
		}},
		{name: "connect-defaults-per-field", steps: []step{
			dial(1), send(1, `CONNECT {"verbose":false}`+"\r\n"+pub("a.*", "", "x")),
			expectErr(1, "Invalid Publish Subject"), syncc(1),
			dial(2), send(2, `CONNECT {"pedantic":false}`+"\r\n"), expect(2, "+OK\r\n"),
			send(2, pub("a.*", "", "x")), expect(2, "+OK\r\n"),
		}},
		{name: "verbose-ok-on-each-op", splitAll: true, steps: []step{
			dial(1),
			send(1, connect(`"verbose":true`)), expect(1, "+OK\r\n"),
			send(1, "SUB foo 1\r\n"), expect(1, "+OK\r\n"),
			send(1, pub("foo", "", "hello")), expect(1, "+OK\r\n", msg("foo", "1", "", "hello")),
			send(1, "UNSUB 1\r\n"), expect(1, "+OK\r\n"),
			send(1, "PING\r\n"), expect(1, "PONG\r\n"),
			send(1, "PONG\r\n"), quiet(1),
		}},
		{name: "verbose-headers", steps: []step{
			dial(1),
			send(1, connect(`"verbose":true,"headers":true`)), expect(1, "+OK\r\n"),
			send(1, "SUB foo 1\r\n"), expect(1, "+OK\r\n"),
			send(1, hpub("foo", "", "NATS/1.0\r\nA: b\r\n\r\n", "x")),
			expect(1, "+OK\r\n", hmsg("foo", "1", "", "NATS/1.0\r\nA: b\r\n\r\n", "x")),
		}},
		{name: "verbose-off-again", steps: []step{
			dial(1),
			send(1, connect(`"verbose":true`)), expect(1, "+OK\r\n"),
			send(1, connect(`"verbose":false`)), send(1, "SUB foo 1\r\n"), syncc(1),
		}},
		// nats-server answers a pedantic PUB to a wildcard subject with -ERR and still
		// delivers it; the wildcard is then an ordinary token for matching.
		{name: "pedantic-publish-wildcard", steps: []step{
			dialc(1), dialc(2), dialc(3),
			send(2, "SUB foo.> 1\r\n"), syncc(2),
			send(3, "SUB foo.x 1\r\n"), syncc(3),
			send(1, connect(`"pedantic":true`)),
			send(1, pub("foo.*", "", "a")), expectErr(1, "Invalid Publish Subject"),
			send(1, pub("foo.>", "", "b")), expectErr(1, "Invalid Publish Subject"),
			syncc(1),
			expect(2, msg("foo.*", "1", "", "a"), msg("foo.>", "1", "", "b")), quiet(1, 2, 3),
		}},
		{name: "pedantic-verbose", steps: []step{
			dial(1),
			send(1, connect(`"verbose":true,"pedantic":true`)), expect(1, "+OK\r\n"),
			send(1, pub("a.*", "", "x")), expect(1, errLine("Invalid Publish Subject"), "+OK\r\n"),
			send(1, pub("a.b", "", "x")), expect(1, "+OK\r\n"),
			syncc(1),
		}},
		{name: "non-pedantic-publish-wildcard", steps: []step{
			dialc(1), dialc(2), dialc(3), dialc(4),
			send(2, "SUB foo.x 1\r\n"), syncc(2),
			send(3, "SUB foo.* 1\r\n"), syncc(3),
			send(4, "SUB foo.> 1\r\n"), syncc(4),
			send(1, pub("foo.*", "", "a")+pub("foo.>", "", "b")+pub("*", "", "c")+pub(">", "", "d")), syncc(1),
			expect(3, msg("foo.*", "1", "", "a"), msg("foo.>", "1", "", "b")),
			expect(4, msg("foo.*", "1", "", "a"), msg("foo.>", "1", "", "b")),
			quiet(1, 2, 3, 4),
		}},
		// Subjects with empty tokens are dropped; pedantic clients get -ERR too.
		{name: "publish-empty-tokens", steps: []step{
			dialc(1), dialc(2), dialc(3),
			send(2, "SUB > 1\r\n"), syncc(2),
			send(1, pub("foo..bar", "", "a")+pub(".foo", "", "b")+pub("foo.", "", "c")+pub("ok", "", "d")), syncc(1),
			send(3, connect(`"pedantic":true`)+pub("foo..bar", "", "a")+pub(".foo", "", "b")),
			expectErr(3, "Invalid Publish Subject"), expectErr(3, "Invalid Publish Subject"), syncc(3),
			expect(2, msg("ok", "1", "", "d")), quiet(1, 2, 3),
		}},
		{name: "lower-and-mixed-case-verbs", splitAll: true, steps: []step{
			dial(1),
			send(1, `connect {"verbose":false,"pedantic":false,"headers":true}`+"\r\nsub foo 1\r\npub foo 2\r\nhi\r\nPiNg\r\n"),
			expect(1, msg("foo", "1", "", "hi"), "PONG\r\n"),
			send(1, "uNsUb 1\r\nPuB foo 1\r\nx\r\nping\r\n"), expect(1, "PONG\r\n"),
			send(1, "Sub bar q 2\r\nhpub bar 12 12\r\nNATS/1.0\r\n\r\n\r\npong\r\n"),
			expect(1, hmsg("bar", "2", "", "NATS/1.0\r\n\r\n", "")), syncc(1),
		}},
		{name: "tabs-and-spaces", splitAll: true, steps: []step{
			dial(1),
			send(1, "CONNECT\t {\"verbose\":false,\"pedantic\":false}\r\n"),
			send(1, "SUB \t foo\t\t1  \r\n"),
			send(1, "PUB\tfoo \t reply\t 3\r\nabc\r\n"),
			expect(1, msg("foo", "1", "reply", "abc")),
			send(1, "SUB  bar   grp \t 2\r\nPUB bar  0\r\n\r\n"),
			expect(1, msg("bar", "2", "", "")),
			send(1, "UNSUB\t1 \r\nPUB foo 1\r\nz\r\n"), syncc(1),
		}},
		{name: "ping-trailing-space", steps: []step{
			dialc(1), send(1, "PING \r\n"), expect(1, "PONG\r\n"),
			send(1, "PING\t\r\n"), expect(1, "PONG\r\n"),
		}},
		{name: "bare-lf-line-endings", steps: []step{
			dial(1), send(1, strings.TrimSuffix(connect(""), "\r\n")+"\nSUB foo 1\nPING\n"), expect(1, "PONG\r\n"),
			send(1, "PUB foo 2\nhi\r\n"), expect(1, msg("foo", "1", "", "hi")),
		}},
		{name: "pipelined-one-write", splitAll: true, steps: []step{
			dial(1),
			send(1, connect("")+"SUB a 1\r\nSUB b 2\r\nPUB a 1\r\n1\r\nPUB b r 2\r\n22\r\nUNSUB 2\r\nPUB b 1\r\n3\r\nPUB a 0\r\n\r\nPING\r\n"),
			expect(1, msg("a", "1", "", "1"), msg("b", "2", "r", "22"), msg("a", "1", "", ""), "PONG\r\n"),
			quiet(1),
		}},
		{name: "split-at-chosen-bytes", steps: []step{
			dial(1), send(1, connect("")+"SUB foo 1\r\n"),
			sendSplit(1, "PUB foo 5\r\nhello\r\nPING\r\n", 1, 3, 6, 1, 1, 3, 2, 1, 2),
			expect(1, msg("foo", "1", "", "hello"), "PONG\r\n"),
			sendSplit(1, "PUB foo 5\r\nhello\r\n", 11, 5, 1),
			expect(1, msg("foo", "1", "", "hello")),
		}},
		{name: "bad-client-protocol", steps: []step{
			dial(1), send(1, connect(`"protocol":2`)),
			expectErr(1, "invalid client protocol"), closed(1),
		}},
		{name: "no-responders-requires-headers", steps: []step{
			dial(1), send(1, connect(`"no_responders":true`)),
			expectErr(1, "no responders requires headers support"), closed(1),
		}},
		{name: "connect-bad-json", steps: []step{
			dial(1), send(1, "CONNECT {verbose:\r\n"), closed(1),
		}},
		{name: "connect-unknown-fields", steps: []step{
			dial(1), send(1, connect(`"verbose":false,"lang":"go","version":"1.0","name":"x","foo":[1,2],"tls_required":false`)),
			syncc(1),
		}},
	})
}

func TestDiffPubSub(t *testing.T) {
	hdr := "NATS/1.0\r\nKey: Value\r\n\r\n"
	runSessions(t, []session{
		{name: "pub-sub-two-conns", splitAll: true, steps: []step{
			dial(1), dial(2),
			send(1, connect("")+"SUB foo 9\r\n"), syncc(1),
			send(2, connect("")+pub("foo", "", "hello")+pub("foo", "_INBOX.x", "world")+pub("bar", "", "no")), syncc(2),
			expect(1, msg("foo", "9", "", "hello"), msg("foo", "9", "_INBOX.x", "world")), quiet(1, 2),
		}},
		{name: "zero-length-payload", steps: []step{
			dialc(1), send(1, "SUB foo 1\r\nPUB foo 0\r\n\r\nPUB foo r 0\r\n\r\n"),
			expect(1, "MSG foo 1 0\r\n\r\n", "MSG foo 1 r 0\r\n\r\n"),
		}},
		{name: "binary-payload", steps: []step{
			dialc(1), send(1, "SUB bin 1\r\n"+pub("bin", "", binaryPayload())),
			expect(1, msg("bin", "1", "", binaryPayload())), syncc(1),
		}},
		{name: "large-payload-split", steps: []step{
			dialc(1), send(1, "SUB big 1\r\n"),
			sendSplit(1, pub("big", "", strings.Repeat("0123456789", 10000)), 5, 4000, 60000, 1),
			expect(1, msg("big", "1", "", strings.Repeat("0123456789", 10000))),
		}},
		{name: "hpub-hmsg", splitAll: true, steps: []step{
			dial(1), dial(2),
			send(1, connect(`"headers":true`)+"SUB h 1\r\n"), syncc(1),
			send(2, connect(`"headers":true`)+hpub("h", "", hdr, "body")+hpub("h", "rep", hdr, "")),
			expect(1, hmsg("h", "1", "", hdr, "body"), hmsg("h", "1", "rep", hdr, "")),
		}},
		{name: "hpub-to-subscriber-without-headers", steps: []step{
			dial(1), dial(2),
			send(1, connect("")+"SUB h 1\r\n"), syncc(1),
			send(2, connect(`"headers":true`)+hpub("h", "r", hdr, "body")),
			expect(1, msg("h", "1", "r", "body")),
		}},
		{name: "hpub-without-headers-connect", steps: []step{
			dial(1), send(1, connect("")+hpub("h", "", hdr, "body")), closed(1),
		}},
		{name: "hpub-minimal-header", steps: []step{
			dial(1), send(1, connect(`"headers":true`)+"SUB h 1\r\nHPUB h 12 12\r\nNATS/1.0\r\n\r\n\r\n"),
			expect(1, hmsg("h", "1", "", "NATS/1.0\r\n\r\n", "")),
		}},
		{name: "queue-group-one-member-gets-each", steps: []step{
			dialc(1), dialc(2), dialc(3), dialc(4),
			send(1, "SUB work q 1\r\n"), syncc(1),
			send(2, "SUB work q 2\r\n"), syncc(2),
			send(4, "SUB work 4\r\n"), syncc(4),
			send(3, strings.Repeat(pub("work", "", "job"), 20)), syncc(3),
			spread(20, "re:^MSG work [12] 3\r\njob\r\n$", 1, 2),
			spread(20, msg("work", "4", "", "job"), 4),
		}},
		{name: "queue-groups-distinct", steps: []step{
			dialc(1), dialc(2), dialc(3),
			send(1, "SUB work a 1\r\n"), syncc(1),
			send(2, "SUB work b 2\r\n"), syncc(2),
			send(3, pub("work", "", "j")),
			expect(1, msg("work", "1", "", "j")), expect(2, msg("work", "2", "", "j")),
		}},
		{name: "unsub", steps: []step{
			dialc(1), dialc(2),
			send(1, "SUB foo 1\r\nUNSUB 1\r\n"), syncc(1),
			send(2, pub("foo", "", "x")), syncc(2), quiet(1),
		}},
		{name: "unsub-unknown-sid", steps: []step{
			dialc(1), send(1, "UNSUB 42\r\nUNSUB 42 3\r\n"), syncc(1), quiet(1),
		}},
		{name: "unsub-max", splitAll: true, steps: []step{
			dialc(1), dialc(2),
			send(1, "SUB foo 1\r\nUNSUB 1 2\r\n"), syncc(1),
			send(2, pub("foo", "", "1")+pub("foo", "", "2")+pub("foo", "", "3")), syncc(2),
			expect(1, msg("foo", "1", "", "1"), msg("foo", "1", "", "2")), quiet(1),
		}},
		{name: "unsub-max-already-reached", steps: []step{
			dialc(1), dialc(2),
			send(1, "SUB foo 1\r\n"), syncc(1),
			send(2, pub("foo", "", "1")+pub("foo", "", "2")), syncc(2),
			expect(1, msg("foo", "1", "", "1"), msg("foo", "1", "", "2")),
			send(1, "UNSUB 1 2\r\n"), syncc(1),
			send(2, pub("foo", "", "3")), syncc(2), quiet(1),
		}},
		{name: "unsub-max-then-unsub", steps: []step{
			dialc(1),
			send(1, "SUB foo 1\r\nUNSUB 1 5\r\nUNSUB 1\r\n"+pub("foo", "", "x")), syncc(1), quiet(1),
		}},
		{name: "duplicate-sid", steps: []step{
			dialc(1), send(1, "SUB foo 1\r\nSUB bar 1\r\n"+pub("bar", "", "b")+pub("foo", "", "f")),
			expect(1, msg("foo", "1", "", "f")), syncc(1), quiet(1),
		}},
		{name: "echo-false", steps: []step{
			dial(1), dialc(2),
			send(1, connect(`"echo":false`)+"SUB foo 1\r\n"+pub("foo", "", "self")), syncc(1),
			send(2, "SUB foo 2\r\n"), syncc(2),
			send(1, pub("foo", "", "again")), syncc(1),
			expect(2, msg("foo", "2", "", "again")), quiet(1, 2),
		}},
		{name: "echo-default-true", steps: []step{
			dial(1), send(1, connect("")+"SUB foo 1\r\n"+pub("foo", "", "self")),
			expect(1, msg("foo", "1", "", "self")),
		}},
		{name: "wildcards", steps: []step{
			dialc(1), dialc(2), dialc(3), dialc(4),
			send(1, "SUB foo.* 1\r\n"), syncc(1),
			send(2, "SUB foo.> 2\r\n"), syncc(2),
			send(3, "SUB > 3\r\n"), syncc(3),
			send(4, "SUB *.bar.* 4\r\n"), syncc(4),
			send(4, pub("foo.bar", "", "a")+pub("foo.bar.baz", "", "b")+pub("foo", "", "c")+pub("x.bar.y", "", "d")),
			expect(1, msg("foo.bar", "1", "", "a")),
			expect(2, msg("foo.bar", "2", "", "a"), msg("foo.bar.baz", "2", "", "b")),
			expect(3, msg("foo.bar", "3", "", "a"), msg("foo.bar.baz", "3", "", "b"), msg("foo", "3", "", "c"), msg("x.bar.y", "3", "", "d")),
			expect(4, msg("foo.bar.baz", "4", "", "b"), msg("x.bar.y", "4", "", "d")),
			quiet(1, 2, 3, 4),
		}},
		{name: "overlapping-subs-one-conn", steps: []step{
			dialc(1), dialc(2),
			send(1, "SUB foo.* 1\r\nSUB foo.bar 2\r\nSUB foo.bar q 3\r\n"), syncc(1),
			send(2, pub("foo.bar", "", "x")), syncc(2),
			// Each matching subscription gets its own copy; order between them is not part of
			// the protocol, so only count.
			spread(3, "re:^MSG foo\\.bar [123] 1\r\nx\r\n$", 1),
		}},
		{name: "no-responders", steps: []step{
			dial(1),
			send(1, connect(`"headers":true,"no_responders":true`)+"SUB _INBOX.r 1\r\n"+pub("nobody", "_INBOX.r", "q")),
			expect(1, hmsg("_INBOX.r", "1", "", "NATS/1.0 503\r\nNats-Subject: nobody\r\n\r\n", "")), syncc(1),
		}},
		{name: "no-responders-hpub", steps: []step{
			dial(1),
			send(1, connect(`"headers":true,"no_responders":true`)+"SUB _INBOX.r 1\r\n"+hpub("nobody", "_INBOX.r", hdr, "q")),
			expect(1, hmsg("_INBOX.r", "1", "", "NATS/1.0 503\r\nNats-Subject: nobody\r\n\r\n", "")), syncc(1),
		}},
		{name: "no-responders-with-responder", steps: []step{
			dial(1), dialc(2),
			send(2, "SUB svc 1\r\n"), syncc(2),
			send(1, connect(`"headers":true,"no_responders":true`)+"SUB _INBOX.r 1\r\n"+pub("svc", "_INBOX.r", "q")),
			expect(2, msg("svc", "1", "_INBOX.r", "q")), syncc(1), quiet(1),
		}},
		{name: "no-responders-off", steps: []step{
			dial(1),
			send(1, connect(`"headers":true`)+"SUB _INBOX.r 1\r\n"+pub("nobody", "_INBOX.r", "q")),
			syncc(1), quiet(1),
		}},
		{name: "request-reply", steps: []step{
			dialc(1), dialc(2),
			send(2, "SUB svc 1\r\n"), syncc(2),
			send(1, "SUB _INBOX.a.* 7\r\n"+pub("svc", "_INBOX.a.1", "ping")),
			expect(2, msg("svc", "1", "_INBOX.a.1", "ping")),
			send(2, pub("_INBOX.a.1", "", "pong")),
			expect(1, msg("_INBOX.a.1", "7", "", "pong")),
		}},
	})
}

func TestDiffErrors(t *testing.T) {
	runSessions(t, []session{
		{name: "invalid-subject-stays-open", splitAll: true, steps: []step{
			dialc(1),
			send(1, "SUB foo..bar 1\r\n"), expectErr(1, "Invalid Subject"),
			send(1, "SUB .foo 2\r\n"), expectErr(1, "Invalid Subject"),
			send(1, "SUB foo. 3\r\n"), expectErr(1, "Invalid Subject"),
			send(1, "SUB foo.>.bar 4\r\n"), expectErr(1, "Invalid Subject"),
			send(1, "SUB foo.ba*r 5\r\n"), syncc(1),
			send(1, "SUB ok 6\r\n"+pub("ok", "", "y")), expect(1, msg("ok", "6", "", "y")),
		}},
		{name: "invalid-subject-verbose", steps: []step{
			dial(1), send(1, connect(`"verbose":true`)), expect(1, "+OK\r\n"),
			send(1, "SUB a..b 1\r\n"), expectErr(1, "Invalid Subject"), syncc(1), quiet(1),
		}},
		{name: "unknown-verb-closes", steps: []step{
			dialc(1), send(1, "FOO bar\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "unknown-verb-after-valid", splitAll: true, steps: []step{
			dialc(1), send(1, "SUB a 1\r\nPUB a 1\r\nx\r\nPUBX a 1\r\n"),
			expect(1, msg("a", "1", "", "x")), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		// nats-server ignores anything between PING/PONG and the line end.
		{name: "verb-suffix-ignored", steps: []step{
			dialc(1), send(1, "PINGX\r\n"), expect(1, "PONG\r\n"), send(1, "PONGY\r\n"), syncc(1),
		}},
		{name: "verb-prefix-typo", steps: []step{
			dialc(1), send(1, "PIG\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "garbage-bytes", steps: []step{
			dialc(1), send(1, "\x00\x01\xfe\xff\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "empty-line", steps: []step{
			dialc(1), send(1, "\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "max-payload", opts: wireOpts{MaxPayload: 16}, splitAll: true, steps: []step{
			dialc(1), send(1, pub("foo", "", strings.Repeat("x", 16))), syncc(1),
			send(1, "PUB foo 17\r\n"), expectErr(1, "Maximum Payload Violation"), closed(1),
		}},
		{name: "max-payload-hpub", opts: wireOpts{MaxPayload: 16}, steps: []step{
			dial(1), send(1, connect(`"headers":true`)+"HPUB foo 12 17\r\n"),
			expectErr(1, "Maximum Payload Violation"), closed(1),
		}},
		{name: "max-control-line", opts: wireOpts{MaxControlLine: 64}, steps: []step{
			dialc(1), send(1, "SUB "+strings.Repeat("a", 50)+" 1\r\n"), syncc(1),
			send(1, "SUB "+strings.Repeat("a", 100)+" 2\r\n"),
			expectErr(1, "maximum control line exceeded"), closed(1),
		}},
		{name: "max-control-line-split", opts: wireOpts{MaxControlLine: 64}, steps: []step{
			dialc(1), sendSplit(1, "PUB "+strings.Repeat("b", 100)+" 1\r\nx\r\n", 30, 30, 30),
			expectErr(1, "maximum control line exceeded"), closed(1),
		}},
		{name: "pub-payload-longer-than-size", steps: []step{
			dialc(1), send(1, "PUB foo 3\r\nhello\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "pub-payload-missing-crlf", steps: []step{
			dialc(1), send(1, "SUB foo 1\r\nPUB foo 3\r\nabcXY"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "pub-payload-cr-only", steps: []step{
			dialc(1), send(1, "SUB foo 1\r\nPUB foo 3\r\nabc\rPING\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "pub-payload-lf-only", steps: []step{
			dialc(1), send(1, "SUB foo 1\r\nPUB foo 3\r\nabc\nPING\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "pub-non-numeric-size", steps: []step{
			dialc(1), send(1, "PUB foo abc\r\n"), closed(1),
		}},
		{name: "pub-negative-size", steps: []step{
			dialc(1), send(1, "PUB foo -1\r\n"), closed(1),
		}},
		{name: "pub-missing-size", steps: []step{
			dialc(1), send(1, "PUB foo\r\n"), closed(1),
		}},
		{name: "pub-too-many-args", steps: []step{
			dialc(1), send(1, "PUB a b c 1\r\nx\r\n"), closed(1),
		}},
		{name: "sub-missing-sid", steps: []step{
			dialc(1), send(1, "SUB foo\r\n"), closed(1),
		}},
		{name: "sub-too-many-args", steps: []step{
			dialc(1), send(1, "SUB a b c d\r\n"), closed(1),
		}},
		{name: "unsub-non-numeric-max", steps: []step{
			dialc(1), send(1, "SUB a 1\r\nUNSUB 1 x\r\n"), syncc(1),
		}},
		{name: "unsub-no-args", steps: []step{
			dialc(1), send(1, "UNSUB\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "hpub-header-size-over-total", steps: []step{
			dial(1), send(1, connect(`"headers":true`)+"HPUB foo 10 5\r\n"), closed(1),
		}},
		{name: "unsub-max-zero-or-bad-removes", steps: []step{
			dialc(1),
			send(1, "SUB a 1\r\nUNSUB 1 0\r\nSUB b 2\r\nUNSUB 2 x\r\nSUB c 3\r\nUNSUB 3 -1\r\n"),
			send(1, pub("a", "", "1")+pub("b", "", "2")+pub("c", "", "3")), syncc(1), quiet(1),
		}},
		{name: "sub-queue-with-wildcard-chars", steps: []step{
			dialc(1),
			send(1, "SUB foo q.* 1\r\nSUB foo q> 2\r\nSUB foo bar baz\r\n"), syncc(1),
			send(1, pub("foo", "", "x")),
			spread(3, "re:^MSG foo (1|2|baz) 1\r\nx\r\n$", 1), syncc(1),
		}},
		// nats-server only rejects empty tokens, misplaced '>' and whitespace.
		{name: "sub-subject-with-control-byte", steps: []step{
			dialc(1), send(1, "SUB foo\x00bar 1\r\nSUB f\x7fo 2\r\n"), syncc(1),
			send(1, pub("foo\x00bar", "", "x")), expect(1, msg("foo\x00bar", "1", "", "x")),
		}},
		{name: "sub-no-args", steps: []step{
			dialc(1), send(1, "SUB \r\n"), closed(1),
		}},
		{name: "pub-size-ten-digits", steps: []step{
			dialc(1), send(1, "PUB foo 1234567890\r\n"), closed(1),
		}},
		{name: "pub-size-overflows", steps: []step{
			dialc(1), send(1, "PUB foo 99999999999999999999\r\n"), closed(1),
		}},
		{name: "max-subscriptions", opts: wireOpts{MaxSubs: 2}, steps: []step{
			dialc(1), send(1, "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n"), expectErr(1, "maximum subscriptions exceeded"),
			send(1, pub("a", "", "1")+pub("c", "", "3")+"PING\r\n"), expect(1, msg("a", "1", "", "1"), "PONG\r\n"),
			send(1, "UNSUB 2\r\nSUB c 3\r\n"+pub("c", "", "3")), expect(1, msg("c", "3", "", "3")), quiet(1),
		}},
		{name: "server-ops-from-client", steps: []step{
			dialc(1), send(1, "MSG foo 1 0\r\n\r\n"), expectErr(1, "Unknown Protocol Operation"), closed(1),
		}},
		{name: "info-from-client", steps: []step{
			dialc(1), send(1, "INFO {}\r\n"), syncc(1),
		}},
		{name: "ok-and-err-from-client", steps: []step{
			dialc(1), send(1, "+OK\r\n"), syncc(1),
			send(1, "-ERR 'x'\r\n"), closed(1),
		}},
	})
}

func TestDiffAuth(t *testing.T) {
	token := wireOpts{Token: "s3cret"}
	userPass := wireOpts{Username: "alice", Password: "pw"}
	users := wireOpts{Users: []wireUser{
		{Name: "alice", Password: "apw"},
		{Name: "bob", Password: "bpw",
			PubAllow: []string{"pub.>", "_INBOX.>"}, PubDeny: []string{"pub.secret"},
			SubAllow: []string{"sub.>"}, SubDeny: []string{"sub.secret"}},
	}}
	nkeyUser, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	nkeySeed, _ := nkeyUser.Seed()
	nkeyPub, _ := nkeyUser.PublicKey()
	stranger, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	strangerSeed, _ := stranger.Seed()
	nkeyOpts := wireOpts{Users: []wireUser{
		{Name: "alice", Password: "apw"},
		{Nkey: nkeyPub, PubAllow: []string{"dev.>"}},
	}}
	runSessions(t, []session{
		{name: "nkey-ok", opts: nkeyOpts, steps: []step{
			dial(1), connectNkey(1, string(nkeySeed), `"verbose":true`), expect(1, "+OK\r\n"),
			send(1, "SUB dev.x 1\r\n"+pub("dev.x", "", "hi")), expect(1, "+OK\r\n", "+OK\r\n", msg("dev.x", "1", "", "hi")),
			// Unlike "Invalid Publish Subject", a permissions violation gets no +OK.
			send(1, pub("other", "", "no")), expectErr(1, `Permissions Violation for Publish to "other"`), syncc(1),
		}},
		{name: "nkey-unknown", opts: nkeyOpts, steps: []step{
			dial(1), connectNkey(1, string(strangerSeed), ""), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "nkey-without-signature", opts: nkeyOpts, steps: []step{
			dial(1), send(1, connect(`"nkey":"`+nkeyPub+`"`)), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "nkey-bad-signature", opts: nkeyOpts, steps: []step{
			dial(1), send(1, connect(`"nkey":"`+nkeyPub+`","sig":"AAAA"`)), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "nkey-users-password-user", opts: nkeyOpts, steps: []step{
			dial(1), send(1, connect(`"user":"alice","pass":"apw"`)), syncc(1),
		}},
		{name: "token-ok", opts: token, steps: []step{
			dial(1), send(1, connect(`"verbose":true,"auth_token":"s3cret"`)), expect(1, "+OK\r\n"), syncc(1),
		}},
		{name: "token-wrong", opts: token, steps: []step{
			dial(1), send(1, connect(`"auth_token":"nope"`)), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "token-missing", opts: token, steps: []step{
			dial(1), send(1, connect("")), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "pub-before-connect", opts: token, steps: []step{
			dial(1), send(1, pub("foo", "", "x")), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "ping-before-connect-auth", opts: token, steps: []step{
			dial(1), send(1, "PING\r\n"), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "lowercase-connect-auth", opts: token, splitAll: true, steps: []step{
			dial(1), send(1, `connect {"verbose":false,"pedantic":false,"auth_token":"s3cret"}`+"\r\n"), syncc(1),
		}},
		{name: "user-password-ok", opts: userPass, steps: []step{
			dial(1), send(1, connect(`"user":"alice","pass":"pw"`)+"SUB a 1\r\n"+pub("a", "", "x")),
			expect(1, msg("a", "1", "", "x")),
		}},
		{name: "user-password-wrong", opts: userPass, steps: []step{
			dial(1), send(1, connect(`"user":"alice","pass":"bad"`)), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "user-unknown", opts: users, steps: []step{
			dial(1), send(1, connect(`"user":"carol","pass":"apw"`)), expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "users-ok", opts: users, steps: []step{
			dial(1), send(1, connect(`"user":"alice","pass":"apw"`)), syncc(1),
		}},
		{name: "pipelined-after-bad-connect", opts: token, steps: []step{
			dial(1), send(1, connect(`"auth_token":"x"`)+"SUB foo 1\r\nPING\r\n"),
			expectErr(1, "Authorization Violation"), closed(1),
		}},
		{name: "publish-permission-violation", opts: users, steps: []step{
			dial(1), dial(2),
			send(2, connect(`"user":"alice","pass":"apw"`)+"SUB > 1\r\n"), syncc(2),
			send(1, connect(`"user":"bob","pass":"bpw"`)), syncc(1),
			send(1, pub("pub.secret", "", "x")), expectErr(1, `Permissions Violation for Publish to "pub.secret"`),
			send(1, pub("other", "", "x")), expectErr(1, `Permissions Violation for Publish to "other"`),
			send(1, pub("pub.ok", "", "y")), syncc(1),
			expect(2, msg("pub.ok", "1", "", "y")), quiet(2),
		}},
		{name: "publish-permission-verbose", opts: users, steps: []step{
			dial(1),
			send(1, connect(`"verbose":true,"user":"bob","pass":"bpw"`)), expect(1, "+OK\r\n"),
			send(1, pub("nope", "", "x")), expectErr(1, `Permissions Violation for Publish to "nope"`), syncc(1),
		}},
		{name: "subscribe-permission-violation", opts: users, steps: []step{
			dial(1),
			send(1, connect(`"user":"bob","pass":"bpw"`)),
			send(1, "SUB sub.secret 1\r\n"), expectErr(1, `Permissions Violation for Subscription to "sub.secret"`),
			send(1, "SUB other q 2\r\n"), expectErr(1, `Permissions Violation for Subscription to "other" using queue "q"`),
			send(1, "SUB sub.ok 3\r\n"), syncc(1),
			send(1, pub("pub.x", "", "")), syncc(1), quiet(1),
		}},
		// A wildcard subscription overlapping a denied subject is accepted, and the
		// denied subject is not delivered through it.
		{name: "wildcard-sub-over-denied-subject", opts: users, steps: []step{
			dial(1), dial(2),
			send(1, connect(`"user":"bob","pass":"bpw"`)+"SUB sub.* 1\r\nSUB sub.> 2\r\n"), syncc(1),
			send(2, connect(`"user":"alice","pass":"apw"`)+pub("sub.secret", "", "s")+pub("sub.open", "", "o")), syncc(2),
			drain(1),
		}},
		{name: "reply-to-denied-subject", opts: users, steps: []step{
			dial(1), dial(2),
			send(2, connect(`"user":"alice","pass":"apw"`)+"SUB pub.svc 1\r\n"), syncc(2),
			send(1, connect(`"user":"bob","pass":"bpw"`)+"SUB sub.r 1\r\n"+pub("pub.svc", "sub.r", "q")),
			expect(2, msg("pub.svc", "1", "sub.r", "q")),
			send(2, pub("sub.r", "", "a")), expect(1, msg("sub.r", "1", "", "a")),
		}},
		// Without CONNECT the no_auth_user applies, with nats-server's CONNECT
		// defaults (verbose on).
		{name: "no-auth-user", opts: wireOpts{Users: users.Users, NoAuthUser: "bob"}, steps: []step{
			dial(1), send(1, pub("pub.x", "", "a")), expect(1, "+OK\r\n"),
			send(1, pub("nope", "", "a")), drain(1),
			send(1, connect(`"user":"alice","pass":"apw"`)), syncc(1),
		}},
		{name: "no-auth-user-connect", opts: wireOpts{Users: users.Users, NoAuthUser: "bob"}, steps: []step{
			dial(1), send(1, connect("")+pub("nope", "", "a")),
			expectErr(1, `Permissions Violation for Publish to "nope"`), syncc(1),
		}},
	})
}

func TestDiffTimers(t *testing.T) {
	authTimeout := wireOpts{Token: "t", AuthTimeout: 300 * time.Millisecond}
	stale := wireOpts{PingInterval: 100 * time.Millisecond, PingMax: 1}
	runSessions(t, []session{
		{name: "auth-timeout", opts: authTimeout, steps: []step{
			dial(1), expectWithin(3*time.Second, 1, errLine("Authentication Timeout")), closed(1),
		}},
		{name: "auth-timeout-partial-connect", opts: authTimeout, steps: []step{
			dial(1), send(1, `CONNECT {"auth_`), expectWithin(3*time.Second, 1, errLine("Authentication Timeout")), closed(1),
		}},
		{name: "auth-in-time", opts: authTimeout, steps: []step{
			dial(1), send(1, connect(`"auth_token":"t"`)), syncc(1),
			quietFor(500*time.Millisecond, 1), syncc(1),
		}},
		{name: "stale-connection", opts: stale, steps: []step{
			dial(1), send(1, connect("")),
			expectWithin(3*time.Second, 1, "PING\r\n", errLine("Stale Connection")), closed(1),
		}},
		{name: "stale-connection-ping-max-2", opts: wireOpts{PingInterval: 100 * time.Millisecond, PingMax: 2}, steps: []step{
			dial(1), send(1, connect("")),
			expectWithin(3*time.Second, 1, "PING\r\n", "PING\r\n", errLine("Stale Connection")), closed(1),
		}},
		{name: "pong-keeps-alive", opts: stale, steps: []step{
			dial(1), send(1, connect("")),
			expectWithin(3*time.Second, 1, "PING\r\n"), send(1, "PONG\r\n"),
			expectWithin(3*time.Second, 1, "PING\r\n"), send(1, "PONG\r\n"),
			expectWithin(3*time.Second, 1, "PING\r\n"), send(1, "PONG\r\n"),
			syncc(1),
		}},
	})
}

// TestDiffReload pins what a configuration reload does to connected
// clients: subscriptions the new permissions deny are removed with an -ERR
// naming them (and their queue), wildcard subscriptions that now overlap a
// deny entry stop receiving the denied subjects, and a connection whose
// credentials no longer authenticate is closed.
func TestDiffReload(t *testing.T) {
	before := wireOpts{Users: []wireUser{
		{Name: "alice", Password: "apw"},
		{Name: "bob", Password: "bpw"},
		{Name: "admin", Password: "xpw"},
	}}
	// bob's password changes. (A user removed outright is closed without
	// an -ERR by nats-server, as a client that moved account; leafbox
	// sends 'Authorization Violation' then too.)
	after := wireOpts{Users: []wireUser{
		{Name: "alice", Password: "apw", SubAllow: []string{">"}, SubDeny: []string{"secret.>"}},
		{Name: "bob", Password: "new"},
		{Name: "admin", Password: "xpw"},
	}}
	as := func(user, pw string) string { return connect(`"user":"` + user + `","pass":"` + pw + `"`) }
	runSessions(t, []session{
		{name: "reload-revokes-subscriptions", opts: before, steps: []step{
			dial(1), send(1, as("alice", "apw")+"SUB secret.x 1\r\nSUB *.y 3\r\n"), syncc(1),
			dial(2), send(2, as("alice", "apw")+"SUB secret.y workers 7\r\nSUB public.y workers 8\r\n"), syncc(2),
			dial(3), send(3, as("admin", "xpw")), syncc(3),
			dial(4), send(4, as("bob", "bpw")+"SUB secret.x 1\r\n"), syncc(4),
			reload(after),
			expectErr(1, `Permissions Violation for Subscription to "secret.x" (sid "1")`),
			expectErr(2, `Permissions Violation for Subscription to "secret.y" using queue "workers" (sid "7")`),
			expectErr(4, "Authorization Violation"), closed(4),
			send(3, pub("secret.x", "", "s")+pub("secret.y", "", "s")+pub("public.y", "", "p")), syncc(3),
			// The removed subscriptions get nothing, and neither does the
			// wildcard for the subjects now denied.
			expect(1, msg("public.y", "3", "", "p")), syncc(1),
			expect(2, msg("public.y", "8", "", "p")), syncc(2),
			// New subscriptions follow the new permissions too.
			send(1, "SUB secret.z 9\r\n"), expectErr(1, `Permissions Violation for Subscription to "secret.z"`), syncc(1),
		}},
		{name: "reload-filters-wildcards", opts: before, steps: []step{
			dial(1), send(1, as("alice", "apw")+"SUB *.y 3\r\n"), syncc(1),
			dial(3), send(3, as("admin", "xpw")), syncc(3),
			reload(after), syncc(1),
			send(3, pub("secret.y", "", "s")+pub("public.y", "", "p")), syncc(3),
			expect(1, msg("public.y", "3", "", "p")), syncc(1),
		}},
	})
}

// TestDiffLameDuck pins lame duck mode: a registered client of protocol 1
// (CONNECT and a first PING answered) gets its INFO again with "ldm":true,
// once, with its client id and no nonce; a client that has not sent PING
// yet, or speaks protocol 0, gets nothing; new connections are refused;
// then every client is closed within the duration.
func TestDiffLameDuck(t *testing.T) {
	opts := wireOpts{LameDuck: 600 * time.Millisecond, LameDuckGrace: 200 * time.Millisecond}
	proto1 := connect(`"protocol":1`)
	runSessions(t, []session{
		{name: "lame-duck", opts: opts, steps: []step{
			dial(1), send(1, proto1), syncc(1),
			dial(2), send(2, proto1),
			dialc(3), syncc(3),
			dial(4), send(4, proto1+"SUB x 1\r\n"), syncc(4),
			lameDuck(),
			expectLDM(1),
			expectLDM(4),
			refused(),
			closed(1), closed(2), closed(3), closed(4),
		}},
	})
}
