package broker_test

// Differential sessions for accounts: isolation of the subject spaces,
// stream and service imports with their subject mappings, and responses
// crossing back to the requester's account, against nats-server.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/leafbox/leafbox/broker"
)

// natsAccounts gives nats-server o's accounts, with the users that name
// them, through its own configuration parser (the accounts API of its
// Options needs a running server).
func natsAccounts(opts *server.Options, o wireOpts) {
	if len(o.Accounts) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("accounts {\n")
	for _, a := range o.Accounts {
		fmt.Fprintf(&b, "  %s: {\n    users: [\n", a.Name)
		for _, u := range o.Users {
			if u.Account != a.Name {
				continue
			}
			if u.Nkey != "" {
				fmt.Fprintf(&b, "      { nkey: %s }\n", u.Nkey)
			} else {
				fmt.Fprintf(&b, "      { user: %q, password: %q }\n", u.Name, u.Password)
			}
		}
		b.WriteString("    ]\n    exports: [\n")
		for _, e := range a.Exports {
			fmt.Fprintf(&b, "      { %s: %q", e.Kind, e.Subject)
			if len(e.Accounts) > 0 {
				fmt.Fprintf(&b, ", accounts: [%s]", strings.Join(e.Accounts, ", "))
			}
			if e.Kind == broker.Service {
				fmt.Fprintf(&b, ", response_type: %s", [...]string{"singleton", "stream", "chunked"}[e.ResponseType])
			}
			b.WriteString(" }\n")
		}
		b.WriteString("    ]\n    imports: [\n")
		for _, im := range a.Imports {
			fmt.Fprintf(&b, "      { %s: { account: %s, subject: %q }", im.Kind, im.Account, im.Subject)
			if im.To != "" {
				fmt.Fprintf(&b, ", to: %q", im.To)
			}
			if im.Prefix != "" {
				fmt.Fprintf(&b, ", prefix: %q", im.Prefix)
			}
			b.WriteString(" }\n")
		}
		b.WriteString("    ]\n  }\n")
	}
	b.WriteString("}\n")
	if o.SystemAccount != "" {
		fmt.Fprintf(&b, "system_account: %s\n", o.SystemAccount)
	}
	dir, err := os.MkdirTemp("", "wire-accounts")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "accounts.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		panic(err)
	}
	parsed, err := server.ProcessConfigFile(path)
	if err != nil {
		panic(fmt.Sprintf("nats-server accounts config: %v\n%s", err, b.String()))
	}
	opts.Accounts = parsed.Accounts
	opts.Users = append(opts.Users, parsed.Users...)
	opts.Nkeys = append(opts.Nkeys, parsed.Nkeys...)
	opts.SystemAccount = parsed.SystemAccount
}

// respond publishes payload on connection c to the reply subject of the
// last MSG or HMSG it read.
func respond(c int, payload string) step { return step{kind: stepRespond, conn: c, data: payload} }

// replyOf is the reply subject of frame f when it is a MSG or HMSG with
// one, else prev.
func replyOf(f, prev string) string {
	line, _, _ := strings.Cut(f, "\r\n")
	fields := strings.Fields(line)
	switch {
	case len(fields) == 5 && fields[0] == "MSG", len(fields) == 6 && fields[0] == "HMSG":
		return fields[3]
	}
	return prev
}

// serviceReply matches the reply subjects a service import hands to
// responders: random on both servers.
var serviceReply = regexp.MustCompile(`_R_\.[0-9A-Za-z]+\.[0-9A-Za-z]+`)

// normalizeReplies replaces service reply subjects with one fixed name, so
// transcripts compare; their length (and so the MSG line's) is the same.
func normalizeReplies(f string) string { return serviceReply.ReplaceAllString(f, "_R_.RRRRRR.RRRRRR") }

// reqMsg is the "re:" frame of a request that came through a service
// import: MSG subj sid _R_.x.y size.
func reqMsg(subj, sid, payload string) string {
	return fmt.Sprintf(`re:^MSG %s %s _R_\.[0-9A-Za-z]{6}\.[0-9A-Za-z]{6} %d\r\n%s\r\n$`,
		regexp.QuoteMeta(subj), sid, len(payload), regexp.QuoteMeta(payload))
}

// login is a CONNECT as user u (password u).
func login(u string) string { return connect(fmt.Sprintf(`"user":%q,"pass":%q`, u, u)) }

// accountUsers are users a, b, c in accounts A, B, C and g in the global
// account, each with its name as password.
func accountUsers() []wireUser {
	return []wireUser{
		{Account: "A", Name: "a", Password: "a"},
		{Account: "B", Name: "b", Password: "b"},
		{Account: "C", Name: "c", Password: "c"},
		{Name: "g", Password: "g"},
	}
}

func TestDiffAccountIsolation(t *testing.T) {
	opts := wireOpts{Users: accountUsers(), Accounts: []broker.Account{{Name: "A"}, {Name: "B"}, {Name: "C"}}}
	runSessions(t, []session{
		{name: "own-subject-space", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB > 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB > 1\r\n"), syncc(2),
			dial(3), send(3, login("g")+"SUB > 1\r\n"), syncc(3),
			send(1, pub("foo", "", "from-a")), expect(1, msg("foo", "1", "", "from-a")),
			send(2, pub("foo", "", "from-b")), expect(2, msg("foo", "1", "", "from-b")),
			send(3, pub("foo", "", "from-g")), expect(3, msg("foo", "1", "", "from-g")),
			quiet(1, 2, 3),
		}},
		// Queue groups of the same name in two accounts are two groups.
		{name: "queue-groups-per-account", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB q.x workers 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB q.x workers 1\r\n"), syncc(2),
			send(1, pub("q.x", "", "1")),
			expect(1, msg("q.x", "1", "", "1")), quiet(1, 2),
		}},
		// A request into an account where nobody listens gets the 503
		// even when another account has a responder.
		{name: "no-responders-per-account", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB svc 1\r\n"), syncc(1),
			dial(2), send(2, connect(`"user":"b","pass":"b","headers":true,"no_responders":true`)+"SUB _INBOX.> 1\r\n"), syncc(2),
			send(2, pub("svc", "_INBOX.r1", "req")),
			expect(2, hmsg("_INBOX.r1", "1", "", "NATS/1.0 503\r\nNats-Subject: svc\r\n\r\n", "")), quiet(1, 2),
		}},
	})
}

func TestDiffAccountNoAuthUser(t *testing.T) {
	opts := wireOpts{Users: accountUsers(), NoAuthUser: "b",
		Accounts: []broker.Account{{Name: "A"}, {Name: "B"}, {Name: "C"}}}
	runSessions(t, []session{
		{name: "no-auth-user-in-account", opts: opts, steps: []step{
			dial(1), send(1, connect("")+"SUB foo 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB foo 1\r\n"), syncc(2),
			dial(3), send(3, login("g")+"SUB foo 1\r\n"), syncc(3),
			send(3, pub("foo", "", "global")), expect(3, msg("foo", "1", "", "global")),
			send(2, pub("foo", "", "b")),
			expect(1, msg("foo", "1", "", "b")), expect(2, msg("foo", "1", "", "b")),
			quiet(1, 2, 3),
		}},
	})
}

func TestDiffAccountStreams(t *testing.T) {
	opts := wireOpts{Users: accountUsers(), Accounts: []broker.Account{
		{Name: "A", Exports: []broker.Export{
			{Kind: broker.Stream, Subject: "events.>"},
			{Kind: broker.Stream, Subject: "priv.>", Accounts: []string{"C"}},
			{Kind: broker.Stream, Subject: "m.*.*"},
		}},
		{Name: "B", Imports: []broker.Import{
			{Kind: broker.Stream, Account: "A", Subject: "events.>", Prefix: "from_a"},
			{Kind: broker.Stream, Account: "A", Subject: "m.*.*", To: "mapped.*.*"},
		}},
		{Name: "C", Imports: []broker.Import{
			{Kind: broker.Stream, Account: "A", Subject: "priv.>"},
			{Kind: broker.Stream, Account: "A", Subject: "events.one", To: "one"},
		}},
	}}
	runSessions(t, []session{
		{name: "prefix-and-to", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB events.> 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB from_a.> 1\r\nSUB events.> 2\r\nSUB mapped.> 3\r\n"), syncc(2),
			dial(3), send(3, login("c")+"SUB > 1\r\n"), syncc(3),
			send(1, pub("events.one", "", "e1")+pub("priv.x", "", "p")+pub("m.x.y", "", "m")),
			expect(1, msg("events.one", "1", "", "e1")),
			expect(2, msg("from_a.events.one", "1", "", "e1"), msg("mapped.x.y", "3", "", "m")),
			expect(3, msg("one", "1", "", "e1"), msg("priv.x", "1", "", "p")),
			quiet(1, 2, 3),
		}},
		// Imports go one way: what B publishes on its imported subjects
		// stays in B.
		{name: "one-way", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB > 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB from_a.> 1\r\n"), syncc(2),
			send(2, pub("from_a.events.x", "", "b")+pub("events.x", "", "b")),
			expect(2, msg("from_a.events.x", "1", "", "b")),
			quiet(1, 2),
		}},
		// The reply subject travels with a streamed message.
		{name: "reply-kept", opts: opts, steps: []step{
			dial(2), send(2, login("b")+"SUB from_a.> 1\r\n"), syncc(2),
			dial(1), send(1, login("a")+pub("events.r", "inbox.a", "x")), syncc(1),
			expect(2, msg("from_a.events.r", "1", "inbox.a", "x")),
			quiet(1, 2),
		}},
	})
}

func TestDiffAccountServices(t *testing.T) {
	opts := wireOpts{Users: accountUsers(), Accounts: []broker.Account{
		{Name: "A", Exports: []broker.Export{
			{Kind: broker.Service, Subject: "req.>"},
			{Kind: broker.Service, Subject: "many.>", ResponseType: broker.Streamed},
		}},
		{Name: "B", Imports: []broker.Import{
			{Kind: broker.Service, Account: "A", Subject: "req.time", To: "time"},
			{Kind: broker.Service, Account: "A", Subject: "many.>"},
			{Kind: broker.Service, Account: "A", Subject: "req.*", To: "svc.*"},
		}},
		{Name: "C"},
	}}
	runSessions(t, []session{
		{name: "singleton", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB req.> 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB _INBOX.> 1\r\nSUB time 2\r\n"), syncc(2),
			send(2, pub("time", "_INBOX.r1", "now?")),
			expect(2, msg("time", "2", "_INBOX.r1", "now?")),
			expect(1, reqMsg("req.time", "1", "now?")),
			respond(1, "noon"), respond(1, "again"), syncc(1),
			expect(2, msg("_INBOX.r1", "1", "", "noon")),
			quiet(1, 2),
		}},
		{name: "wildcard-to", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB req.> 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB _INBOX.> 1\r\n"), syncc(2),
			send(2, pub("svc.date", "_INBOX.r2", "d?")),
			expect(1, reqMsg("req.date", "1", "d?")),
			respond(1, "today"), syncc(1),
			expect(2, msg("_INBOX.r2", "1", "", "today")),
			quiet(1, 2),
		}},
		{name: "stream-responses", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB many.> 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+"SUB _INBOX.> 1\r\n"), syncc(2),
			send(2, pub("many.items", "_INBOX.r3", "all?")),
			expect(1, reqMsg("many.items", "1", "all?")),
			respond(1, "one"), respond(1, "two"), syncc(1),
			expect(2, msg("_INBOX.r3", "1", "", "one"), msg("_INBOX.r3", "1", "", "two")),
			quiet(1, 2),
		}},
		{name: "no-reply", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB req.> 1\r\n"), syncc(1),
			dial(2), send(2, login("b")+pub("time", "", "tick")), syncc(2),
			expect(1, msg("req.time", "1", "", "tick")),
			quiet(1, 2),
		}},
		// Nobody behind the import: the requester gets the 503 at once.
		{name: "no-responders-through-import", opts: opts, steps: []step{
			dial(2), send(2, connect(`"user":"b","pass":"b","headers":true,"no_responders":true`)+"SUB _INBOX.> 1\r\n"), syncc(2),
			send(2, pub("time", "_INBOX.r4", "now?")),
			expect(2, hmsg("_INBOX.r4", "1", "", "NATS/1.0 503\r\nNats-Subject: time\r\n\r\n", "")), quiet(2),
		}},
		// An account without the import cannot reach the service.
		{name: "not-imported", opts: opts, steps: []step{
			dial(1), send(1, login("a")+"SUB > 1\r\n"), syncc(1),
			dial(3), send(3, login("c")+pub("time", "_INBOX.c", "x")+pub("req.time", "_INBOX.c", "x")), syncc(3),
			quiet(1, 3),
		}},
	})
}
