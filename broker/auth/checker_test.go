package auth

import (
	"errors"
	"testing"
)

// permCheck is one question to a Checker and its expected answer.
// op is "pub", "sub" or "deliver"; for "deliver", subject is the delivered
// message's subject and sub the subscription's subject (for NeedsDeliverCheck).
type permCheck struct {
	op      string
	sub     string
	subject string
	queue   string
	want    bool
}

// permTable is a permission set with the answers nats-server 2.15 gives.
// The same table drives TestCheckerTable and the differential test against
// a real nats-server (TestCheckerMatchesNATSServer).
var permTable = []struct {
	name   string
	perms  *Permissions
	checks []permCheck
}{
	{
		name: "publish allow and deny",
		perms: &Permissions{Publish: &SubjectPermission{
			Allow: []string{"foo.>", "bar.*", "baz"},
			Deny:  []string{"foo.secret", "foo.*.admin"},
		}},
		checks: []permCheck{
			{op: "pub", subject: "foo.a", want: true},
			{op: "pub", subject: "foo.a.b.c", want: true},
			{op: "pub", subject: "foo.secret", want: false},
			{op: "pub", subject: "foo.x.admin", want: false},
			{op: "pub", subject: "foo.x.admin.y", want: true},
			{op: "pub", subject: "foo", want: false}, // ">" needs one more token
			{op: "pub", subject: "bar.x", want: true},
			{op: "pub", subject: "bar.x.y", want: false},
			{op: "pub", subject: "bar", want: false},
			{op: "pub", subject: "baz", want: true},
			{op: "pub", subject: "baz.x", want: false},
			{op: "pub", subject: "qux", want: false},
			// No subscribe permissions: everything goes.
			{op: "sub", subject: ">", want: true},
		},
	},
	{
		name:  "publish deny only",
		perms: &Permissions{Publish: &SubjectPermission{Deny: []string{"sys.>", "*.cmd"}}},
		checks: []permCheck{
			{op: "pub", subject: "sys.reboot", want: false},
			{op: "pub", subject: "sys", want: true},
			{op: "pub", subject: "a.cmd", want: false},
			{op: "pub", subject: "a.cmd.b", want: true},
			{op: "pub", subject: "telemetry.x", want: true},
		},
	},
	{
		name: "publish many literals",
		perms: &Permissions{Publish: &SubjectPermission{
			Allow: []string{"l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "w.*"},
			Deny:  []string{"l9"},
		}},
		checks: []permCheck{
			{op: "pub", subject: "l1", want: true},
			{op: "pub", subject: "l8", want: true},
			{op: "pub", subject: "l9", want: false},
			{op: "pub", subject: "l10", want: false},
			{op: "pub", subject: "w.x", want: true},
			{op: "pub", subject: "w", want: false},
		},
	},
	{
		name: "subscribe allow wildcards",
		perms: &Permissions{Subscribe: &SubjectPermission{
			Allow: []string{"foo.>", "bar.*", "baz.qux"},
		}},
		checks: []permCheck{
			{op: "sub", subject: "foo.x", want: true},
			{op: "sub", subject: "foo.*", want: true},
			{op: "sub", subject: "foo.>", want: true},
			{op: "sub", subject: "foo.*.x.>", want: true},
			{op: "sub", subject: "foo", want: false},
			{op: "sub", subject: "bar.x", want: true},
			{op: "sub", subject: "bar.*", want: true},
			{op: "sub", subject: "bar.>", want: true}, // nats-server quirk: "*" matches the final ">"
			{op: "sub", subject: "bar.x.y", want: false},
			{op: "sub", subject: "bar.*.y", want: false},
			{op: "sub", subject: "baz.qux", want: true},
			{op: "sub", subject: "baz.*", want: false},
			{op: "sub", subject: "*.qux", want: false},
			{op: "sub", subject: ">", want: false},
			{op: "sub", subject: "*", want: false},
			{op: "sub", subject: "foo.x", queue: "q", want: true},
			{op: "sub", subject: "baz.*", queue: "q", want: false},
			// No publish permissions: everything goes.
			{op: "pub", subject: "anything", want: true},
		},
	},
	{
		name: "subscribe deny and delivery filter",
		perms: &Permissions{Subscribe: &SubjectPermission{
			Deny: []string{"secret.>", "admin.*", "logs.error"},
		}},
		checks: []permCheck{
			{op: "sub", subject: "secret.x", want: false},
			{op: "sub", subject: "secret.*", want: false},
			{op: "sub", subject: "secret.>", want: false},
			{op: "sub", subject: "secret", want: true},
			{op: "sub", subject: "admin.x", want: false},
			{op: "sub", subject: "admin.*", want: false},
			{op: "sub", subject: "admin.>", want: false},
			{op: "sub", subject: "admin.x.y", want: true},
			{op: "sub", subject: "logs.error", want: false},
			{op: "sub", subject: "logs.*", want: true},
			{op: "sub", subject: ">", want: true},
			{op: "sub", subject: "*.x", want: true},
			{op: "sub", subject: "logs.info", want: true},
			{op: "deliver", sub: ">", subject: "logs.error", want: false},
			{op: "deliver", sub: ">", subject: "logs.info", want: true},
			{op: "deliver", sub: ">", subject: "secret.a", want: false},
			{op: "deliver", sub: ">", subject: "admin.a", want: false},
			{op: "deliver", sub: ">", subject: "admin.a.b", want: true},
			{op: "deliver", sub: "logs.*", subject: "logs.error", want: false},
			{op: "deliver", sub: "logs.*", subject: "logs.warn", want: true},
			{op: "deliver", sub: "*.x", subject: "admin.x", want: false},
			{op: "deliver", sub: "*.x", subject: "user.x", want: true},
		},
	},
	{
		name: "subscribe allow with deny inside",
		perms: &Permissions{Subscribe: &SubjectPermission{
			Allow: []string{"foo.>"},
			Deny:  []string{"foo.bar"},
		}},
		checks: []permCheck{
			{op: "sub", subject: "foo.*", want: true},
			{op: "sub", subject: "foo.>", want: true},
			{op: "sub", subject: "foo.bar", want: false},
			{op: "sub", subject: "foo.baz", want: true},
			{op: "deliver", sub: "foo.*", subject: "foo.bar", want: false},
			{op: "deliver", sub: "foo.*", subject: "foo.baz", want: true},
			{op: "deliver", sub: "foo.>", subject: "foo.bar.x", want: true},
		},
	},
	{
		name: "queue permissions",
		perms: &Permissions{Subscribe: &SubjectPermission{
			Allow: []string{"jobs.> workers", "jobs.> v1.*", "pub.>"},
			Deny:  []string{"pub.secret", "pub.* bad"},
		}},
		checks: []permCheck{
			{op: "sub", subject: "jobs.a", want: false}, // only queue entries match
			{op: "sub", subject: "jobs.a", queue: "workers", want: true},
			{op: "sub", subject: "jobs.*", queue: "workers", want: true},
			{op: "sub", subject: "jobs.a", queue: "others", want: false},
			{op: "sub", subject: "jobs.a", queue: "v1.x", want: true},
			{op: "sub", subject: "jobs.a", queue: "v1.*", want: true},
			{op: "sub", subject: "jobs.a", queue: "v1.>", want: false},
			{op: "sub", subject: "jobs.a", queue: "v1", want: false},
			{op: "sub", subject: "jobs", queue: "workers", want: false},
			{op: "sub", subject: "pub.x", want: true},
			{op: "sub", subject: "pub.x", queue: "workers", want: true},
			{op: "sub", subject: "pub.x", queue: "bad", want: false},
			{op: "sub", subject: "pub.x", queue: "good", want: true},
			{op: "sub", subject: "pub.x.y", queue: "bad", want: true},
			{op: "sub", subject: "pub.secret", want: false},
			{op: "sub", subject: "pub.secret", queue: "q", want: false},
			{op: "sub", subject: "pub.*", queue: "bad", want: false},
			{op: "sub", subject: "pub.>", queue: "bad", want: false},
			{op: "sub", subject: "pub.>", want: true},
			{op: "deliver", sub: "pub.>", subject: "pub.secret", want: false},
			{op: "deliver", sub: "pub.>", subject: "pub.x", want: true},
			{op: "deliver", sub: "pub.>", queue: "bad2", subject: "pub.x", want: true},
			{op: "deliver", sub: "pub.x.>", queue: "bad", subject: "pub.x.y", want: true},
		},
	},
	{
		name: "both directions",
		perms: &Permissions{
			Publish:   &SubjectPermission{Allow: []string{"telemetry.>"}},
			Subscribe: &SubjectPermission{Allow: []string{"cmd.dev1.>", "_INBOX.>"}},
		},
		checks: []permCheck{
			{op: "pub", subject: "telemetry.temp", want: true},
			{op: "pub", subject: "cmd.dev1.x", want: false},
			{op: "sub", subject: "cmd.dev1.reboot", want: true},
			{op: "sub", subject: "cmd.>", want: false},
			{op: "sub", subject: "_INBOX.abc.*", want: true},
			{op: "sub", subject: "telemetry.temp", want: false},
		},
	},
}

// ask runs one check against c.
func (pc permCheck) ask(c *Checker) bool {
	switch pc.op {
	case "pub":
		return c.CanPublish([]byte(pc.subject))
	case "sub":
		return c.CanSubscribe([]byte(pc.subject), []byte(pc.queue))
	default:
		return c.DeliverAllowed([]byte(pc.subject), []byte(pc.queue))
	}
}

func TestCheckerTable(t *testing.T) {
	for _, tc := range permTable {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewChecker(tc.perms)
			if err != nil {
				t.Fatal(err)
			}
			for _, pc := range tc.checks {
				if got := pc.ask(c); got != pc.want {
					t.Errorf("%s %q queue %q (sub %q) = %v, want %v", pc.op, pc.subject, pc.queue, pc.sub, got, pc.want)
				}
				if pc.op == "deliver" {
					// The subscription must be allowed, and flagged for filtering
					// whenever a message to it can be refused.
					if !c.CanSubscribe([]byte(pc.sub), []byte(pc.queue)) {
						t.Errorf("sub %q queue %q is refused; the deliver check would be moot", pc.sub, pc.queue)
					}
					if !pc.want && !c.NeedsDeliverCheck([]byte(pc.sub)) {
						t.Errorf("NeedsDeliverCheck(%q) = false, but delivery of %q is refused", pc.sub, pc.subject)
					}
				}
			}
		})
	}
}

func TestNeedsDeliverCheck(t *testing.T) {
	c, err := NewChecker(&Permissions{Subscribe: &SubjectPermission{
		Deny: []string{"secret.>", "admin.*", "logs.error", "q.x grp"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sub  string
		want bool
	}{
		{">", true},
		{"logs.*", true},
		{"*.error", true},
		{"*.x", true}, // admin.x, q.x
		{"logs.info", false},
		{"other.*", false},
		{"other.>", false},
		{"*.*.*", true}, // secret.a.b
		{"*", false},
		{"admin.a.>", false},
		{"secret.*", true},
	}
	for _, tt := range tests {
		if got := c.NeedsDeliverCheck([]byte(tt.sub)); got != tt.want {
			t.Errorf("NeedsDeliverCheck(%q) = %v, want %v", tt.sub, got, tt.want)
		}
	}
	var nilChecker *Checker
	if nilChecker.NeedsDeliverCheck([]byte(">")) {
		t.Error("nil checker needs a deliver check")
	}
}

func TestNilCheckerAllowsAll(t *testing.T) {
	c, err := NewChecker(nil)
	if err != nil || c != nil {
		t.Fatalf("NewChecker(nil) = %v, %v; want nil, nil", c, err)
	}
	if !c.CanPublish([]byte("a")) || !c.CanSubscribe([]byte(">"), nil) || !c.DeliverAllowed([]byte("a"), []byte("q")) {
		t.Fatal("nil checker refused something")
	}
	// Empty permission blocks allow everything too.
	c, err = NewChecker(&Permissions{Publish: &SubjectPermission{}, Subscribe: &SubjectPermission{Allow: []string{}}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.CanPublish([]byte("a")) || !c.CanSubscribe([]byte(">"), []byte("q")) {
		t.Fatal("empty permissions refused something")
	}
}

func TestNewCheckerInvalid(t *testing.T) {
	tests := []struct {
		name  string
		perms *Permissions
		n     int // number of reported problems
	}{
		{"publish queue", &Permissions{Publish: &SubjectPermission{Allow: []string{"foo q"}}}, 1},
		{"publish deny empty token", &Permissions{Publish: &SubjectPermission{Deny: []string{"foo..bar"}}}, 1},
		{"subscribe fwc not last", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"foo.>.bar"}}}, 1},
		{"subscribe three fields", &Permissions{Subscribe: &SubjectPermission{Deny: []string{"a b c"}}}, 1},
		{"subscribe bad queue", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"a b..c"}}}, 1},
		{"empty entries", &Permissions{
			Publish:   &SubjectPermission{Allow: []string{""}},
			Subscribe: &SubjectPermission{Allow: []string{"", " "}},
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewChecker(tt.perms)
			if !errors.Is(err, ErrPermission) {
				t.Fatalf("err = %v, want ErrPermission", err)
			}
			if n := countJoined(err); n != tt.n {
				t.Fatalf("%d problems reported, want %d: %v", n, tt.n, err)
			}
		})
	}
	if _, err := NewChecker(&Permissions{Subscribe: &SubjectPermission{Allow: []string{"a.* q", "a.> v1.*"}}}); err != nil {
		t.Fatalf("valid queue entries refused: %v", err)
	}
}

// countJoined counts the errors joined in err.
func countJoined(err error) int {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return len(j.Unwrap())
	}
	if err == nil {
		return 0
	}
	return 1
}
