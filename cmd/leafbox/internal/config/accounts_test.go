package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
)

// accountsConf is the shape of a real nats-server accounts configuration:
// users and nkeys with permissions in accounts, stream and service exports
// (public and private), imports with prefix and to, a global user beside
// them and no_auth_user naming an account's user.
const accountsConf = `
authorization { users = [ { user: g, password: pg } ] }
accounts {
  A: {
    users: [
      { user: a, password: pa, permissions: { publish: "a.>" } }
      { nkey: ` + testNkey + ` }
    ]
    default_permissions: { subscribe: { deny: "secret" } }
    exports: [
      { stream: "events.>" }
      { service: "req.>", response_type: stream, response_threshold: "5s" }
      { stream: "private.>", accounts: [B] }
    ]
  }
  B: {
    users: [ { user: b, password: pb } ]
    imports: [
      { stream: { account: A, subject: "events.>" }, prefix: "from_a" }
      { stream: { account: A, subject: "private.x" }, to: "px" }
      { service: { account: A, subject: "req.time" }, to: "time" }
    ]
  }
}
no_auth_user: b
system_account: A
`

func TestAccountsParse(t *testing.T) {
	o, err := ParseData("acc.conf", []byte(accountsConf))
	if err != nil {
		t.Fatal(err)
	}
	b := o.Broker
	wantUsers := []auth.User{
		{Username: "g", Password: "pg"},
		{Username: "a", Password: "pa", Account: "A",
			Permissions: &auth.Permissions{Publish: &auth.SubjectPermission{Allow: []string{"a.>"}}}},
		{Nkey: testNkey, Account: "A",
			Permissions: &auth.Permissions{Subscribe: &auth.SubjectPermission{Deny: []string{"secret"}}}},
		{Username: "b", Password: "pb", Account: "B"},
	}
	if !reflect.DeepEqual(b.Auth.Users, wantUsers) {
		t.Errorf("users:\n got %+v\nwant %+v", b.Auth.Users, wantUsers)
	}
	wantAccounts := []broker.Account{
		{Name: "A", Exports: []broker.Export{
			{Kind: broker.Stream, Subject: "events.>"},
			{Kind: broker.Service, Subject: "req.>", ResponseType: broker.Streamed, ResponseThreshold: 5 * time.Second},
			{Kind: broker.Stream, Subject: "private.>", Accounts: []string{"B"}},
		}},
		{Name: "B", Imports: []broker.Import{
			{Kind: broker.Stream, Account: "A", Subject: "events.>", Prefix: "from_a"},
			{Kind: broker.Stream, Account: "A", Subject: "private.x", To: "px"},
			{Kind: broker.Service, Account: "A", Subject: "req.time", To: "time"},
		}},
	}
	if !reflect.DeepEqual(b.Accounts, wantAccounts) {
		t.Errorf("accounts:\n got %+v\nwant %+v", b.Accounts, wantAccounts)
	}
	if b.Auth.NoAuthUser != "b" || b.SystemAccount != "A" {
		t.Errorf("no_auth_user %q system_account %q, want b and A", b.Auth.NoAuthUser, b.SystemAccount)
	}
}

// TestAccountsErrors pins what leafbox -t rejects in an accounts block, each
// at the line of the key at fault.
func TestAccountsErrors(t *testing.T) {
	tests := []struct {
		name, conf string
		want       []string
	}{
		{"import from unknown account",
			"accounts {\n B: { imports: [ { stream: { account: Z, subject: foo } } ] }\n}", []string{
				`bad.conf:1: accounts: broker: invalid accounts: account "B": stream import "foo" from "Z": account "Z" is not defined`}},
		{"import not exported",
			"accounts {\n A: {}\n B: { imports: [ { stream: { account: A, subject: foo } } ] }\n}", []string{
				`bad.conf:1: accounts: broker: invalid accounts: account "B": stream import "foo" from "A": not authorized (no matching stream export for this account)`}},
		{"private export",
			"accounts {\n A: { exports: [ { stream: foo, accounts: [C] } ] }\n B: { imports: [ { stream: { account: A, subject: foo } } ] }\n C: {}\n}", []string{
				`bad.conf:1: accounts: broker: invalid accounts: account "B": stream import "foo" from "A": not authorized (no matching stream export for this account)`}},
		{"service import of a stream export",
			"accounts {\n A: { exports: [ { stream: foo } ] }\n B: { imports: [ { service: { account: A, subject: foo } } ] }\n}", []string{
				`bad.conf:1: accounts: broker: invalid accounts: account "B": service import "foo" from "A": not authorized (no matching service export for this account)`}},
		{"user twice across accounts",
			"accounts {\n A: { users: [ { user: u } ] }\n B: { users: [ { user: u } ] }\n}", []string{
				`bad.conf:3: accounts.B.users[0]: bad value: duplicate user "u" (first defined at bad.conf:2)`}},
		{"user in account and authorization",
			"authorization { users: [ { user: u } ] }\naccounts {\n A: { users: [ { user: u } ] }\n}", []string{
				`bad.conf:3: accounts.A.users[0]: bad value: duplicate user "u" (first defined at bad.conf:1)`}},
		{"no_auth_user unknown",
			"accounts {\n A: { users: [ { user: u } ] }\n}\nno_auth_user: v", []string{
				`bad.conf:4: no_auth_user: bad value: "v" is not a user of the authorization block or of an account`}},
		{"system account unknown",
			"accounts {\n A: {}\n}\nsystem_account: Q", []string{
				`bad.conf:4: system_account: broker: invalid accounts: system_account "Q" is not a defined account`}},
		{"reserved name", "accounts {\n $G: {}\n}", []string{
			`bad.conf:2: accounts.$G: bad value: "$G" is a reserved account`}},
		{"bad response type", "accounts {\n A: { exports: [ { service: s, response_type: bogus } ] }\n}", []string{
			`bad.conf:2: accounts.A.exports[0].response_type: bad value: unknown response type "bogus" (want singleton, stream or chunked)`}},
		{"export of both kinds", "accounts {\n A: { exports: [ { service: s, stream: t } ] }\n}", []string{
			`bad.conf:2: accounts.A.exports[0]: bad value: an export needs exactly one of stream or service`}},
		{"unknown account key", "accounts {\n A: { limits: 1 }\n}", []string{
			`bad.conf:2: accounts.A.limits: unknown field`}},
		{"jetstream in an account", "accounts {\n A: { jetstream: enabled }\n}", []string{
			`bad.conf:2: accounts.A.jetstream: bad value: leafbox has no JetStream; use the hub's JetStream through the leafnode`}},
		{"bad import subject", "accounts {\n A: { imports: [ { stream: { account: B, subject: \"a..b\" } } ] }\n}", []string{
			`bad.conf:2: accounts.A.imports[0].stream.subject: bad value: "a..b" is not a valid subject`,
			`bad.conf:2: accounts.A.imports[0].stream: bad value: an import source needs an account and a subject`}},
		{"service mapping", "accounts {\n A: { exports: [ { service: \"s.>\" } ] }\n B: { imports: [ { service: { account: A, subject: \"s.>\" }, to: \"q.*\" } ] }\n}", []string{
			`bad.conf:1: accounts: broker: invalid accounts: account "B": service import "s.>" from "A": cannot map "q.*" to "s.>": '>' in the target needs one in the source`}},
		{"leafnode remote in an unknown account", "leafnodes {\n remotes: [ { url: \"nats://hub:7422\", account: Q } ]\n}", []string{
			`bad.conf:1: leafnodes: bad value: remotes[0]: account "Q" is not defined`}},
		{"mqtt in an unknown account", "mqtt {\n listen: \"127.0.0.1:1883\"\n account: Q\n}", []string{
			`bad.conf:1: mqtt: bad value: account "Q" is not defined`}},
		{"bridge in an unknown account", "bridges {\n gpio = [ { line: 17, subject: x, account: Q } ]\n serial = [ { port: /dev/ttyS0, subject: y, account: R } ]\n modbus = [ { address: \"10.0.0.9:502\", account: S, devices = [ { name: m, unit: 1, points = [ { name: x, address: 0 } ] } ] } ]\n}", []string{
			`bad.conf:1: bridges: bad value: serial[0]: account "R" is not defined`,
			`bad.conf:1: bridges: bad value: gpio[0]: account "Q" is not defined`,
			`bad.conf:1: bridges: bad value: modbus[0]: account "S" is not defined`}},
		{"prefix on a service", "accounts {\n A: { exports: [ { service: s } ] }\n B: { imports: [ { service: { account: A, subject: s }, prefix: p } ] }\n}", []string{
			`bad.conf:1: accounts: broker: invalid accounts: account "B": service import "s" from "A": prefix applies to stream imports only (use to)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseData("bad.conf", []byte(tt.conf))
			if err == nil {
				t.Fatalf("no error; options %+v", o)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors mismatch\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestAccountsSystemDefault pins that $SYS exists without being declared,
// as in nats-server: users may be put in it.
func TestAccountsSystemDefault(t *testing.T) {
	if _, err := ParseData("sys.conf", []byte("accounts {\n $SYS: { users: [ { user: admin, password: x } ] }\n}")); err != nil {
		t.Fatal(err)
	}
}

// TestAccountsOfComponents pins the account keys outside the accounts
// block: a leafnode remote, serial and GPIO bridges and MQTT client bridges.
func TestAccountsOfComponents(t *testing.T) {
	o, err := ParseData("comp.conf", []byte(`
accounts { A: {} }
leafnodes { remotes: [ { url: "nats://hub:7422", account: A } ] }
bridges {
  serial = [ { port: /dev/ttyS0, subject: s, account: A } ]
  gpio = [ { line: 17, subject: g, account: A } ]
  mqtt = [ { url: "tcp://plant:1883", account: A, import: [ { topic: "a/#", subject: "a.>" } ] } ]
  modbus = [ { address: "10.0.0.9:502", account: A, devices = [ { name: m, unit: 1, points = [ { name: x, address: 0 } ] } ] } ]
}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{o.Leaf.Remotes[0].Account, o.Bridges.Serial[0].Account, o.Bridges.GPIO[0].Account, o.MQTT.Bridges[0].Account, o.Bridges.Modbus[0].Account}
	for i, a := range got {
		if a != "A" {
			t.Errorf("component %d account %q, want A", i, a)
		}
	}
}

// TestMQTTNoAuthUserInAccount pins that the MQTT no_auth_user may be a user
// of any account: MQTT users log in to their own account.
func TestMQTTNoAuthUserInAccount(t *testing.T) {
	conf := "accounts {\n A: { users: [ { user: u } ] }\n}\nmqtt {\n listen: \"127.0.0.1:1883\"\n no_auth_user: u\n}"
	o, err := ParseData("ok.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	if o.MQTT.NoAuthUser != "u" || o.MQTTAccount() != "" {
		t.Fatalf("no_auth_user %q, listener account %q; want u and the global one", o.MQTT.NoAuthUser, o.MQTTAccount())
	}
}
