package leaf

import (
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
)

// Leafz reports the registered links with nats-server's /leafz fields.
func (u *Uplink) Leafz(opts monitor.LeafzOptions) monitor.Leafz {
	z := monitor.Leafz{ServerID: u.srv.ID(), Now: time.Now().UTC(), Leafs: []monitor.LeafInfo{}}
	for _, r := range u.remotes {
		r.mu.Lock()
		l := r.cur
		r.mu.Unlock()
		if l == nil {
			continue
		}
		z.Leafs = append(z.Leafs, l.leafInfo(opts))
	}
	z.NumLeafs = len(z.Leafs)
	return z
}

func (l *link) leafInfo(opts monitor.LeafzOptions) monitor.LeafInfo {
	li := monitor.LeafInfo{
		ID:          l.cid,
		Name:        l.info.Name,
		IsSpoke:     true,
		Account:     l.r.cfg.Account,
		InMsgs:      l.inMsgs.Load(),
		InBytes:     l.inBytes.Load(),
		OutMsgs:     l.outMsgs.Load(),
		OutBytes:    l.outBytes.Load(),
		NumSubs:     uint32(l.numSubs.Load()),
		Compression: l.compression,
		Websocket:   l.ws,
	}
	if rtt := time.Duration(l.rtt.Load()); rtt > 0 {
		li.RTT = rtt.String()
	}
	if host, port, err := net.SplitHostPort(l.conn.RemoteAddr().String()); err == nil {
		li.IP = host
		li.Port, _ = strconv.Atoi(port)
	}
	if opts.Subscriptions {
		l.hubMu.Lock()
		for k := range l.hubSubs {
			li.Subs = append(li.Subs, k)
		}
		l.hubMu.Unlock()
		slices.Sort(li.Subs)
	}
	return li
}

// NumLinks is the number of registered links (/varz "leafnodes").
func (u *Uplink) NumLinks() int {
	n := 0
	for _, r := range u.remotes {
		r.mu.Lock()
		if r.cur != nil {
			n++
		}
		r.mu.Unlock()
	}
	return n
}

// Varz fills the leafnode parts of /varz: the link count and the
// configured remotes, and each remote's state for /metrics.
func (u *Uplink) Varz(v *monitor.Varz) {
	v.Leafs = u.NumLinks()
	lv := &monitor.LeafNodeOptsVarz{}
	for _, r := range u.remotes {
		rv := monitor.RemoteLeafOptsVarz{LocalAccount: r.cfg.Account, TLSTimeout: r.cfg.TLSTimeout.Seconds()}
		for _, cu := range r.cfg.URLs {
			rv.URLs = append(rv.URLs, cu.Host)
		}
		if len(r.cfg.DenyImports)+len(r.cfg.DenyExports) > 0 {
			rv.Deny = &monitor.DenyRules{Imports: r.cfg.DenyImports, Exports: r.cfg.DenyExports}
		}
		lv.Remotes = append(lv.Remotes, rv)
	}
	v.LeafNode = lv
	v.Uplinks = u.uplinkMetrics()
}

// linkTotals are traffic counters summed over links.
type linkTotals struct {
	inMsgs, inBytes, outMsgs, outBytes int64
}

func (t *linkTotals) add(l *link) {
	t.inMsgs += l.inMsgs.Load()
	t.inBytes += l.inBytes.Load()
	t.outMsgs += l.outMsgs.Load()
	t.outBytes += l.outBytes.Load()
}

// uplinkMetrics is each remote's state and counters since start for
// /metrics. The url label is the first configured host:port, never
// credentials.
func (u *Uplink) uplinkMetrics() []monitor.UplinkMetrics {
	out := make([]monitor.UplinkMetrics, len(u.remotes))
	for i, r := range u.remotes {
		m := monitor.UplinkMetrics{Remote: r.idx}
		if len(r.cfg.URLs) > 0 {
			m.URL = r.cfg.URLs[0].Host
		}
		r.mu.Lock()
		t := r.past
		if l := r.cur; l != nil {
			t.add(l)
			m.Connected = true
			m.RTT = time.Duration(l.rtt.Load())
			m.Subscriptions = int64(l.numSubs.Load())
			m.Compression = l.compression
		}
		cur := r.cur
		m.Connects, m.Disconnects = uint64(r.connects), uint64(r.disconnects)
		m.DisconnectReasons = make([]monitor.ReasonCount, numEndReasons)
		m.ConnectFailures = make([]monitor.ReasonCount, numEndReasons)
		for e := range numEndReasons {
			m.DisconnectReasons[e] = monitor.ReasonCount{Reason: e.String(), N: r.ended[e]}
			m.ConnectFailures[e] = monitor.ReasonCount{Reason: e.String(), N: r.failed[e]}
		}
		r.mu.Unlock()
		if cur != nil { // read after remote.mu: the two are not nested
			cur.mu.Lock()
			m.LocalInterest = int64(len(cur.smap))
			cur.mu.Unlock()
		}
		m.InMsgs, m.InBytes, m.OutMsgs, m.OutBytes = t.inMsgs, t.inBytes, t.outMsgs, t.outBytes
		out[i] = m
	}
	return out
}
