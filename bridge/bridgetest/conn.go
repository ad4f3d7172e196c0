// Package bridgetest is an in-memory stand-in for the broker, for testing
// bridges without one.
package bridgetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

// Msg is a published message, copied.
type Msg struct {
	Subject, Reply, Header, Data string
}

// Conn is a bridge.Conn that records what is published and delivers it to
// its subscriptions whose subject is equal (no wildcards). Like the
// broker, it calls handlers on the publisher's goroutine with a message
// valid only during the call: the buffers are overwritten afterwards, so a
// handler that keeps them fails tests.
type Conn struct {
	mu    sync.Mutex
	msgs  []Msg
	subs  map[int]sub
	next  int
	inbox int
	// PublishErr, when set, fails every Publish.
	PublishErr error
}

type sub struct {
	subject string
	h       func(bridge.Msg)
}

// NewConn returns an empty Conn.
func NewConn() *Conn { return &Conn{subs: make(map[int]sub)} }

// Publish records m and delivers it.
func (c *Conn) Publish(m bridge.Msg) error {
	c.mu.Lock()
	if c.PublishErr != nil {
		err := c.PublishErr
		c.mu.Unlock()
		return err
	}
	rec := Msg{Subject: string(m.Subject), Reply: string(m.Reply), Header: string(m.Header), Data: string(m.Data)}
	c.msgs = append(c.msgs, rec)
	var hs []func(bridge.Msg)
	for _, s := range c.subs {
		if s.subject == rec.Subject {
			hs = append(hs, s.h)
		}
	}
	c.mu.Unlock()
	for _, h := range hs {
		// Fresh buffers, scribbled over after the call.
		data, reply := []byte(rec.Data), []byte(rec.Reply)
		h(bridge.Msg{Subject: []byte(rec.Subject), Reply: reply, Header: []byte(rec.Header), Data: data})
		for i := range data {
			data[i] = '#'
		}
		for i := range reply {
			reply[i] = '#'
		}
	}
	return nil
}

// Subscribe adds a subscription on an exact subject.
func (c *Conn) Subscribe(subject, queue string, h func(bridge.Msg)) (bridge.Subscription, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	id := c.next
	c.subs[id] = sub{subject, h}
	return unsub{c, id}, nil
}

type unsub struct {
	c  *Conn
	id int
}

func (u unsub) Unsubscribe() {
	u.c.mu.Lock()
	delete(u.c.subs, u.id)
	u.c.mu.Unlock()
}

// Subscribed reports whether some subscription is on subject.
func (c *Conn) Subscribed(subject string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		if s.subject == subject {
			return true
		}
	}
	return false
}

// Msgs returns the messages published to subject so far.
func (c *Conn) Msgs(subject string) []Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Msg
	for _, m := range c.msgs {
		if m.Subject == subject {
			out = append(out, m)
		}
	}
	return out
}

// WaitMsgs polls until n messages were published to subject and returns
// them, failing t after timeout.
func (c *Conn) WaitMsgs(t testing.TB, subject string, n int, timeout time.Duration) []Msg {
	t.Helper()
	var got []Msg
	WaitFor(t, timeout, func() bool {
		got = c.Msgs(subject)
		return len(got) >= n
	}, func() string { return fmt.Sprintf("%d of %d messages on %s: %q", len(got), n, subject, got) })
	return got
}

// NewInbox returns a fresh reply subject.
func (c *Conn) NewInbox() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inbox++
	return "_INBOX.test." + strconv.Itoa(c.inbox)
}

// Request publishes data to subject with a fresh reply subject and waits
// for the reply.
func (c *Conn) Request(t testing.TB, subject, data string, timeout time.Duration) Msg {
	t.Helper()
	inbox := c.NewInbox()
	if err := c.Publish(bridge.Msg{Subject: []byte(subject), Reply: []byte(inbox), Data: []byte(data)}); err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	return c.WaitMsgs(t, inbox, 1, timeout)[0]
}

// WaitFor polls cond every millisecond until it holds, failing t after
// timeout with what describe says.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := "condition not met"
			if describe != nil {
				msg = describe()
			}
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(time.Millisecond)
	}
}
