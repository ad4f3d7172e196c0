package broker

import (
	"maps"
	"slices"
	"sort"
	"sync"
)

// SubEvent reports subscriptions added (Delta > 0) or removed (Delta < 0)
// for one subject and queue group. In a snapshot, Delta is the number of
// subscriptions that exist.
type SubEvent struct {
	Subject string
	Queue   string
	Delta   int
}

// watcher is one WatchSubscriptions registration.
type watcher struct {
	exclude *client
	fn      func(SubEvent)
}

// interest serialises subscription changes with their notifications so a
// watcher's snapshot plus its events is always exact. The watchers are kept
// per account (account.watchers), under this one lock.
type interest struct {
	mu sync.Mutex
}

// addSub inserts a subscription into the routing table and tells watchers.
func (s *Server) addSub(sub *subscription) error {
	s.interest.mu.Lock()
	defer s.interest.mu.Unlock()
	if err := sub.acc.subs.Insert(sub.subject, sub.queue, sub); err != nil {
		return err
	}
	s.notify(sub, 1)
	return nil
}

// delSub removes a subscription from the routing table and tells watchers.
// It reports false when the subscription was already gone.
func (s *Server) delSub(sub *subscription) bool {
	if !sub.removed.CompareAndSwap(false, true) {
		return false
	}
	s.interest.mu.Lock()
	defer s.interest.mu.Unlock()
	if sub.acc.subs.Remove(sub.subject, sub.queue, sub) != nil {
		return false
	}
	s.notify(sub, -1)
	return true
}

func (s *Server) notify(sub *subscription, delta int) {
	for _, w := range sub.acc.watchers {
		if sub.client != w.exclude && sub.client.relay == nil {
			w.fn(SubEvent{Subject: sub.subject, Queue: sub.queue, Delta: delta})
		}
	}
}

// WatchSubscriptions reports every subscription change in the global
// account to fn, except those of the local client exclude (nil excludes
// none), and returns the current subscriptions, aggregated per subject and
// queue, as a snapshot taken atomically with the registration. fn is called
// synchronously while the change is made: it must be quick and must not
// subscribe or unsubscribe. Call stop to end the watch.
func (s *Server) WatchSubscriptions(exclude *LocalClient, fn func(SubEvent)) (snapshot []SubEvent, stop func()) {
	return s.watch(s.gacc, exclude, fn)
}

// WatchAccount is WatchSubscriptions for the subscriptions of the named
// account ("" is the global account).
func (s *Server) WatchAccount(name string, exclude *LocalClient, fn func(SubEvent)) (snapshot []SubEvent, stop func(), err error) {
	acc, err := s.account(name)
	if err != nil {
		return nil, nil, err
	}
	snapshot, stop = s.watch(acc, exclude, fn)
	return snapshot, stop, nil
}

func (s *Server) watch(acc *account, exclude *LocalClient, fn func(SubEvent)) (snapshot []SubEvent, stop func()) {
	w := &watcher{fn: fn}
	if exclude != nil {
		w.exclude = exclude.c
	}
	s.interest.mu.Lock()
	counts := make(map[[2]string]int)
	s.forEachSub(func(sub *subscription) {
		if sub.acc == acc && sub.client != w.exclude && sub.client.relay == nil {
			counts[[2]string{sub.subject, sub.queue}]++
		}
	})
	acc.watchers = append(acc.watchers, w)
	s.interest.mu.Unlock()

	snapshot = make([]SubEvent, 0, len(counts))
	for k, n := range counts {
		snapshot = append(snapshot, SubEvent{Subject: k[0], Queue: k[1], Delta: n})
	}
	sort.Slice(snapshot, func(i, j int) bool {
		if snapshot[i].Subject != snapshot[j].Subject {
			return snapshot[i].Subject < snapshot[j].Subject
		}
		return snapshot[i].Queue < snapshot[j].Queue
	})
	return snapshot, func() {
		s.interest.mu.Lock()
		defer s.interest.mu.Unlock()
		for i, x := range acc.watchers {
			if x == w {
				acc.watchers = append(acc.watchers[:i], acc.watchers[i+1:]...)
				return
			}
		}
	}
}

// forEachSub visits every live subscription: network clients' and local
// clients'.
func (s *Server) forEachSub(fn func(*subscription)) {
	clients := s.networkClients()
	s.mu.Lock()
	clients = slices.AppendSeq(clients, maps.Keys(s.locals))
	s.mu.Unlock()
	for _, c := range clients {
		for _, sub := range c.subscriptions() {
			fn(sub)
		}
	}
}
