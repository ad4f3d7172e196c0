package broker_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/monitor"
)

// accountsConfig has accounts A (exports service req.> and stream ev.>) and
// B (imports both), user a in A, b in B, g in the global account.
func accountsConfig() broker.Config {
	return broker.Config{Host: "127.0.0.1", Port: -1,
		Auth: auth.Config{Users: []auth.User{
			{Username: "a", Password: "a", Account: "A"},
			{Username: "b", Password: "b", Account: "B"},
			{Username: "g", Password: "g"},
		}},
		Accounts: []broker.Account{
			{Name: "A", Exports: []broker.Export{{Kind: broker.Service, Subject: "req.>"}, {Kind: broker.Stream, Subject: "ev.>"}}},
			{Name: "B", Imports: []broker.Import{
				{Kind: broker.Service, Account: "A", Subject: "req.>"},
				{Kind: broker.Stream, Account: "A", Subject: "ev.>", Prefix: "a"},
			}},
		},
	}
}

// TestAccountLocalClients pins the in-process side of accounts: a local
// client in an account routes there, an unknown account is an error, and
// WatchAccount reports only that account's interest.
func TestAccountLocalClients(t *testing.T) {
	srv, _ := startBroker(t, accountsConfig())
	if _, err := srv.NewAccountClient("Z", broker.LocalOptions{}); !errors.Is(err, broker.ErrNoAccount) {
		t.Fatalf("NewAccountClient(Z) = %v, want ErrNoAccount", err)
	}
	if got, want := srv.Accounts(), []string{"$G", "$SYS", "A", "B"}; !slices.Equal(got, want) {
		t.Errorf("Accounts() = %q, want %q", got, want)
	}
	var mu sync.Mutex
	var events []broker.SubEvent
	_, stop, err := srv.WatchAccount("B", nil, func(ev broker.SubEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	la, _ := srv.NewAccountClient("A", broker.LocalOptions{Name: "a"})
	lb, _ := srv.NewAccountClient("B", broker.LocalOptions{Name: "b"})
	lg := srv.NewLocalClient(broker.LocalOptions{Name: "g"})
	got := map[string][]string{}
	for name, lc := range map[string]*broker.LocalClient{"A": la, "B": lb, "G": lg} {
		if _, err := lc.Subscribe(">", "", func(m broker.Msg) {
			mu.Lock()
			got[name] = append(got[name], string(m.Subject))
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := la.Publish(broker.Msg{Subject: []byte("ev.1")}); err != nil {
		t.Fatal(err)
	}
	if err := lg.Publish(broker.Msg{Subject: []byte("ev.2")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string][]string{"A": {"ev.1"}, "B": {"a.ev.1"}, "G": {"ev.2"}}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("account %s received %q, want %q", k, got[k], v)
		}
	}
	if len(events) != 1 || events[0] != (broker.SubEvent{Subject: ">", Delta: 1}) {
		t.Errorf("WatchAccount(B) events = %+v, want only B's subscription to >", events)
	}
}

// TestAccountServiceRequestInfo pins the Nats-Request-Info header a request
// gets when it crosses a service import (nats-server adds the requester's
// account; it also adds the RTT, which leafbox does not measure), and that
// nats.go's Request works across accounts.
func TestAccountServiceRequestInfo(t *testing.T) {
	srv, url := startBroker(t, accountsConfig())
	ncA := natsConnect(t, url, nats.UserInfo("a", "a"))
	ncB := natsConnect(t, url, nats.UserInfo("b", "b"))
	hdr := make(chan string, 1)
	if _, err := ncA.Subscribe("req.echo", func(m *nats.Msg) {
		hdr <- m.Header.Get("Nats-Request-Info")
		m.Respond(append([]byte("echo:"), m.Data...))
	}); err != nil {
		t.Fatal(err)
	}
	flush(t, ncA)
	resp, err := ncB.Request("req.echo", []byte("hi"), stepTimeout)
	if err != nil {
		t.Fatalf("request across accounts: %v", err)
	}
	if string(resp.Data) != "echo:hi" {
		t.Errorf("response %q, want echo:hi", resp.Data)
	}
	if h := <-hdr; h != `{"acc":"B"}` {
		t.Errorf("Nats-Request-Info = %q, want {\"acc\":\"B\"}", h)
	}
	accounts := map[string]string{}
	for _, ci := range srv.Connz(monitor.ConnzOptions{Username: true}).Conns {
		accounts[ci.AuthorizedUser] = ci.Account
	}
	if accounts["a"] != "A" || accounts["b"] != "B" {
		t.Errorf("/connz accounts by user %v, want a:A b:B", accounts)
	}
	// The global account has no import: nobody answers.
	ncG := natsConnect(t, url, nats.UserInfo("g", "g"))
	if _, err := ncG.Request("req.echo", nil, stepTimeout); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("request from the global account: %v, want no responders", err)
	}
}

// TestAccountReloadMovesUser pins that a reload moving a connected user to
// another account closes the connection, and that a reload naming an
// undefined account is refused.
func TestAccountReloadMovesUser(t *testing.T) {
	cfg := accountsConfig()
	srv, url := startBroker(t, cfg)
	closed := make(chan struct{})
	nc := natsConnect(t, url, nats.UserInfo("b", "b"), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	flush(t, nc)
	bad := cfg.Auth
	bad.Users = slices.Clone(bad.Users)
	bad.Users[1].Account = "Z"
	if err := srv.ReloadAuth(bad); err == nil || !strings.Contains(err.Error(), `"Z"`) {
		t.Fatalf("reload with account Z: %v, want an error naming it", err)
	}
	moved := cfg.Auth
	moved.Users = slices.Clone(moved.Users)
	moved.Users[1].Account = "A"
	if err := srv.ReloadAuth(moved); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("connection of a user moved to another account still open 5s after the reload")
	}
}

// TestAccountConnectInfo pins the account in the INFO nats-server sends
// after the first PING that follows CONNECT: the client's own account,
// $G for a user of the authorization block.
func TestAccountConnectInfo(t *testing.T) {
	srv, _ := startBroker(t, accountsConfig())
	for user, want := range map[string]string{"a": "A", "g": "$G"} {
		rc := dialRaw(t, srv)
		rc.connectAndPing(fmt.Sprintf(`{"verbose":false,"protocol":1,"user":%q,"pass":%q}`, user, user))
		line := rc.readLine()
		var info struct {
			ConnectInfo   bool   `json:"connect_info"`
			RemoteAccount string `json:"remote_account"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "INFO ")), &info); err != nil || !info.ConnectInfo {
			t.Fatalf("user %s: after PONG got %q, want the connect_info INFO", user, line)
		}
		if info.RemoteAccount != want {
			t.Errorf("user %s: remote_account %q, want %q", user, info.RemoteAccount, want)
		}
	}
}
