package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
)

// startLeafbox starts leafbox's broker with the same options the reference
// nats-server gets. ok is false when the session should only run against
// the reference.
func startLeafbox(t testing.TB, o wireOpts) (tg wireTarget, ok bool) {
	t.Helper()
	srv, err := broker.New(leafboxConfig(o))
	if err != nil {
		t.Fatalf("start leafbox: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("leafbox Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("leafbox did not stop within 5s")
		}
	})
	return wireTarget{addr: srv.Addr().String(), reload: func(o wireOpts) error {
		return srv.ReloadAuth(leafboxConfig(o).Auth)
	}, lameDuck: func() { go srv.LameDuck(ctx, 0, 0) }}, true
}

// leafboxConfig translates o to the broker's configuration.
func leafboxConfig(o wireOpts) broker.Config {
	cfg := broker.Config{
		Host:             "127.0.0.1",
		Port:             -1,
		MaxPayload:       o.MaxPayload,
		MaxControlLine:   o.MaxControlLine,
		PingInterval:     o.PingInterval,
		PingMax:          o.PingMax,
		MaxSubscriptions: o.MaxSubs,
		Auth: auth.Config{
			Token:      o.Token,
			Username:   o.Username,
			Password:   o.Password,
			Timeout:    o.AuthTimeout,
			NoAuthUser: o.NoAuthUser,
		},
	}
	cfg.LameDuckDuration, cfg.LameDuckGracePeriod = o.LameDuck, o.LameDuckGrace
	cfg.Accounts, cfg.SystemAccount = o.Accounts, o.SystemAccount
	for _, u := range o.Users {
		au := auth.User{Username: u.Name, Password: u.Password, Nkey: u.Nkey, Account: u.Account}
		if u.hasPermissions() {
			au.Permissions = &auth.Permissions{}
			if len(u.PubAllow)+len(u.PubDeny) > 0 {
				au.Permissions.Publish = &auth.SubjectPermission{Allow: u.PubAllow, Deny: u.PubDeny}
			}
			if len(u.SubAllow)+len(u.SubDeny) > 0 {
				au.Permissions.Subscribe = &auth.SubjectPermission{Allow: u.SubAllow, Deny: u.SubDeny}
			}
		}
		cfg.Auth.Users = append(cfg.Auth.Users, au)
	}
	return cfg
}
