package leaf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/proto"
)

// ldsPrefix starts the loop-detection subject each uplink advertises.
const ldsPrefix = "$LDS."

// rejectError is a -ERR from the hub; the link closes on it.
type rejectError struct{ text string }

func (e *rejectError) Error() string   { return "leaf: hub error: " + e.text }
func (e *rejectError) Is(t error) bool { return t == ErrRejected }

// The handler methods below run on the reader goroutine.

func (l *link) onInfo(js []byte) error {
	var info hubInfo
	if err := json.Unmarshal(js, &info); err != nil {
		return fmt.Errorf("%w: INFO: %v", proto.ErrBadArgs, err)
	}
	if info.ConnectInfo && !l.registered {
		l.account = info.RemoteAccount
		l.setPerms(info.Import, info.Export)
		l.register()
	}
	if info.LeafNodeURLs != nil {
		l.r.addDiscovered(info.LeafNodeURLs, l.url)
	}
	return nil
}

func (l *link) onPing() error {
	l.mu.Lock()
	l.queueLocked([]byte("PONG\r\n"))
	l.mu.Unlock()
	return nil
}

func (l *link) onPong() error {
	l.mu.Lock()
	if len(l.pongs) == 0 {
		l.mu.Unlock()
		return nil
	}
	p := l.pongs[0]
	l.pongs = append(l.pongs[:0], l.pongs[1:]...)
	l.mu.Unlock()
	l.rtt.Store(int64(time.Since(p.sent)))
	if p.done != nil {
		p.done(nil)
	}
	return nil
}

func (l *link) onErr(text []byte) error {
	return &rejectError{text: string(text)}
}

func (l *link) onSub(subj, queue []byte, weight int32) error {
	if bytes.HasPrefix(subj, []byte(ldsPrefix)) {
		if string(subj) == l.r.u.lds {
			l.sendErr(fmt.Sprintf("Loop detected for leafnode account=%q. Delaying attempt to reconnect for %v", l.r.cfg.Account, loopDelay))
			return fmt.Errorf("%w: our own %s came back from the hub", ErrLoop, subj)
		}
		return nil
	}
	key := interestKey(subj, queue)
	want := 1
	if len(queue) > 0 {
		want = int(min(max(weight, 1), maxQueueWeight))
	}
	l.hubMu.Lock()
	hs := l.hubSubs[key]
	have := 0
	if hs != nil {
		have = len(hs.subs)
	}
	l.hubMu.Unlock()
	if hs == nil {
		hs = &hubSub{}
	}
	// Subscribe and unsubscribe outside hubMu: the broker may call back.
	var extra []*broker.Subscription
	for range want - have {
		sub, err := l.lc.Subscribe(string(subj), string(queue), nil)
		if err != nil {
			for _, s := range extra {
				s.Unsubscribe()
			}
			l.log.Debug("leafnode: hub interest ignored", "subject", string(subj), "err", err)
			return nil
		}
		extra = append(extra, sub)
	}
	l.hubMu.Lock()
	hs.subs = append(hs.subs, extra...)
	var drop []*broker.Subscription
	if len(hs.subs) > want {
		drop = hs.subs[want:]
		hs.subs = hs.subs[:want:want]
	}
	if have == 0 {
		l.hubSubs[key] = hs
		l.numSubs.Add(1)
	}
	l.hubMu.Unlock()
	for _, sub := range drop {
		sub.Unsubscribe()
	}
	return nil
}

func (l *link) onUnsub(subj, queue []byte) error {
	key := interestKey(subj, queue)
	l.hubMu.Lock()
	hs := l.hubSubs[key]
	delete(l.hubSubs, key)
	l.hubMu.Unlock()
	if hs != nil {
		for _, sub := range hs.subs {
			sub.Unsubscribe()
		}
		l.numSubs.Add(-1)
	}
	return nil
}

func interestKey(subj, queue []byte) string {
	if len(queue) == 0 {
		return string(subj)
	}
	return string(subj) + " " + string(queue)
}

// onMsg delivers a hub message to the matching local subscribers: plain
// ones, and only the queue groups the hub listed (none when it listed
// none), as nats-server does for messages from a leafnode connection.
func (l *link) onMsg(m *inMsg) error {
	l.inMsgs.Add(1)
	l.inBytes.Add(int64(len(m.Header) + len(m.Data)))
	if ck := l.perms.Load(); ck != nil && !ck.CanSubscribe(m.Subject, nil) {
		return nil
	}
	q := m.Queues
	if q == nil {
		q = l.noQueues
	}
	l.filter.Queues = q
	if err := l.lc.PublishFiltered(broker.Msg{Subject: m.Subject, Reply: m.Reply, Header: m.Header, Data: m.Data}, &l.filter); err != nil {
		l.log.Debug("leafnode: hub message dropped", "err", err)
	}
	return nil
}

// relay sends a local message the hub has interest in (called by the
// broker on the publisher's goroutine, once per message).
func (l *link) relay(m broker.Msg, queues [][]byte) {
	if fw := l.r.cfg.Forwarder; fw != nil && fw.Owns(m.Subject) {
		return
	}
	if ck := l.perms.Load(); ck != nil && !ck.CanPublish(m.Subject) {
		return
	}
	hdr := m.Header
	if !l.headers {
		hdr = nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.out = appendMsg(l.out, m.Subject, m.Reply, queues, hdr, m.Data)
	l.kick()
	l.checkPendingLocked()
	l.mu.Unlock()
	l.outMsgs.Add(1)
	l.outBytes.Add(int64(len(hdr) + len(m.Data)))
}

// register finishes the connect: the whole local interest (and our
// loop-detection subject) goes to the hub in one burst, then every change.
func (l *link) register() {
	l.registered = true
	// New checked that the account exists.
	snap, stop, _ := l.r.u.srv.WatchAccount(l.r.cfg.Account, nil, l.onLocalInterest)
	l.mu.Lock()
	l.stopWatch = stop
	if l.closed {
		l.mu.Unlock()
		stop()
		return
	}
	buf := appendSub(l.out, l.r.u.lds, "", 0)
	for _, ev := range snap {
		buf = l.applyLocked(buf, ev)
	}
	for _, ev := range l.pendingEv {
		buf = l.applyLocked(buf, ev)
	}
	l.pendingEv = nil
	l.snapDone = true
	l.out = buf
	l.kick()
	l.mu.Unlock()
	l.log.Info("leafnode connection established", "hub", l.info.Name, "hub_account", l.account,
		"compression", l.compression, "interest", len(snap))
	l.r.linkUp(l)
}

// onLocalInterest is the broker's interest watch: it runs while the
// broker changes a subscription, so it only appends LS+/LS-.
func (l *link) onLocalInterest(ev broker.SubEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if !l.snapDone {
		l.pendingEv = append(l.pendingEv, ev)
		return
	}
	l.out = l.applyLocked(l.out, ev)
	l.kick()
}

// applyLocked folds one interest change into smap and appends what the
// hub must hear, with nats-server's aggregation: plain subjects on 0→1 and
// 1→0, queue groups on every weight change. Interest our import
// permissions deny is not advertised.
func (l *link) applyLocked(dst []byte, ev broker.SubEvent) []byte {
	if ck := l.perms.Load(); ck != nil {
		var q []byte
		if ev.Queue != "" {
			q = []byte(ev.Queue)
		}
		if !ck.CanSubscribe([]byte(ev.Subject), q) {
			return dst
		}
	}
	key := ev.Subject
	if ev.Queue != "" {
		key += " " + ev.Queue
	}
	old := l.smap[key]
	n := max(old+ev.Delta, 0)
	if n == 0 {
		delete(l.smap, key)
	} else {
		l.smap[key] = n
	}
	switch {
	case ev.Queue == "" && old == 0 && n > 0:
		dst = appendSub(dst, ev.Subject, "", 0)
	case ev.Queue == "" && old > 0 && n == 0:
		dst = appendUnsub(dst, ev.Subject, "")
	case ev.Queue != "" && n > 0 && n != old:
		dst = appendSub(dst, ev.Subject, ev.Queue, n)
	case ev.Queue != "" && n == 0 && old > 0:
		dst = appendUnsub(dst, ev.Subject, ev.Queue)
	}
	return dst
}

// linkSender is the Sender a Forwarder gets for one link.
type linkSender struct{ l *link }

func (s linkSender) Send(m broker.Msg) error {
	l := s.l
	hdr := m.Header
	if !l.headers {
		hdr = nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrLinkDown
	}
	l.out = appendMsg(l.out, m.Subject, m.Reply, nil, hdr, m.Data)
	l.kick()
	l.checkPendingLocked()
	l.mu.Unlock()
	l.outMsgs.Add(1)
	l.outBytes.Add(int64(len(hdr) + len(m.Data)))
	return nil
}

func (s linkSender) Flush(done func(error)) {
	if !s.l.ping(done) {
		done(ErrLinkDown)
	}
}
