package broker

import (
	"errors"
	"net"
	"runtime"
	"sort"
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/broker/subject"
	"github.com/leafbox/leafbox/broker/sublist"
)

var _ monitor.Source = (*Server)(nil)

// Varz reports configuration and counters for /varz.
func (s *Server) Varz() monitor.Varz {
	s.mu.Lock()
	conns := len(s.clients)
	s.mu.Unlock()
	a := s.auth.Load()
	return monitor.Varz{
		ServerID:         s.id,
		ServerName:       s.name,
		Version:          s.version,
		Proto:            protoLevel,
		GoVersion:        runtime.Version(),
		Host:             s.cfg.Host,
		Port:             s.port(),
		AuthRequired:     a.Required(),
		TLSRequired:      s.tlsConf != nil && !s.cfg.AllowNonTLS,
		TLSVerify:        s.tlsConf != nil && s.cfg.TLSVerify,
		MaxConn:          s.cfg.MaxConnections,
		MaxSubs:          s.cfg.MaxSubscriptions,
		PingInterval:     s.cfg.PingInterval,
		MaxPingsOut:      s.cfg.PingMax,
		AuthTimeout:      a.Timeout().Seconds(),
		MaxControlLine:   s.cfg.MaxControlLine,
		MaxPayload:       int(s.cfg.MaxPayload),
		MaxPending:       s.cfg.MaxPending,
		TLSTimeout:       s.cfg.TLSTimeout.Seconds(),
		WriteDeadline:    s.cfg.WriteDeadline,
		Start:            s.start,
		Connections:      conns,
		TotalConnections: uint64(s.stats.totalConns.Load()),
		InMsgs:           s.stats.inMsgs.Load(),
		InBytes:          s.stats.inBytes.Load(),
		OutMsgs:          s.stats.outMsgs.Load(),
		OutBytes:         s.stats.outBytes.Load(),
		InClientMsgs:     s.stats.inMsgs.Load(),
		InClientBytes:    s.stats.inBytes.Load(),
		OutClientMsgs:    s.stats.outMsgs.Load(),
		OutClientBytes:   s.stats.outBytes.Load(),
		SlowConsumers:    s.stats.slowConsumers.Load(),
		StaleConnections: s.stats.staleConns.Load(),
		Subscriptions:    uint32(s.subCount()),
		ConfigLoadTime:   s.start,
		Warnings:         s.warnings,
		Security: &monitor.SecurityMetrics{
			AuthBadCredentials:    s.stats.authBadCreds.Load(),
			AuthNoCredentials:     s.stats.authNoCreds.Load(),
			AuthTimeout:           s.stats.authTimeouts.Load(),
			PublishViolations:     s.stats.pubViolations.Load(),
			SubscribeViolations:   s.stats.subViolations.Load(),
			RefusedMaxConnections: s.stats.refusedMaxConns.Load(),
		},
	}
}

// Connz reports the open connections for /connz.
func (s *Server) Connz(opts monitor.ConnzOptions) monitor.Connz {
	s.mu.Lock()
	clients := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		if opts.CID == 0 || c.cid == opts.CID {
			clients = append(clients, c)
		}
	}
	s.mu.Unlock()
	conns := make([]monitor.ConnInfo, 0, len(clients))
	for _, c := range clients {
		conns = append(conns, c.connInfo(opts))
	}
	return monitor.NewConnz(s.id, conns, opts, time.Now())
}

func (c *client) connInfo(opts monitor.ConnzOptions) monitor.ConnInfo {
	ci := monitor.ConnInfo{
		Cid:          c.cid,
		Kind:         "Client",
		Type:         "nats",
		IP:           c.host,
		Port:         c.port,
		Start:        c.start,
		LastActivity: time.Unix(0, c.lastRead.Load()),
		Pending:      c.pendingBytes(),
		InMsgs:       c.stats.inMsgs.Load(),
		OutMsgs:      c.stats.outMsgs.Load(),
		InBytes:      c.stats.inBytes.Load(),
		OutBytes:     c.stats.outBytes.Load(),
		NumSubs:      uint32(max(c.numSubs.Load(), 0)),
		TLSVersion:   c.tlsVersion,
		TLSCipher:    c.tlsCipher,
	}
	if info := c.info.Load(); info != nil {
		ci.Name, ci.Lang, ci.Version = info.name, info.lang, info.version
	}
	if u := c.user.Load(); u != nil {
		ci.AuthorizedUser = *u
		if acc := c.account(); acc != c.srv.gacc {
			ci.Account = acc.name // as nats-server: only outside the global account
		}
	}
	if opts.Subscriptions || opts.SubscriptionsDetail {
		for _, sub := range c.subscriptions() {
			if opts.SubscriptionsDetail {
				ci.SubsDetail = append(ci.SubsDetail, sub.detail())
			} else {
				ci.Subs = append(ci.Subs, sub.subject)
			}
		}
	}
	return ci
}

// subscriptions is a snapshot of a client's subscriptions, ordered by sid.
func (c *client) subscriptions() []*subscription {
	subs := c.subList()
	sort.Slice(subs, func(i, j int) bool { return string(subs[i].sid) < string(subs[j].sid) })
	return subs
}

func (sub *subscription) detail() monitor.SubDetail {
	return monitor.SubDetail{
		Subject: sub.subject,
		Queue:   sub.queue,
		Sid:     string(sub.sid),
		Msgs:    sub.delivered.Load(),
		Max:     sub.max.Load(),
		Cid:     sub.client.cid,
	}
}

// Subsz reports subscription statistics for /subsz.
func (s *Server) Subsz(opts monitor.SubszOptions) monitor.Subsz {
	st := s.sublistStats()
	stats := monitor.SublistStats{
		NumSubs:      uint32(st.NumSubs),
		NumCache:     uint32(st.NumCache),
		NumInserts:   uint64(st.NumInserts),
		NumRemoves:   uint64(st.NumRemoves),
		NumMatches:   uint64(st.NumMatches),
		CacheHitRate: st.CacheHitRate,
		MaxFanout:    uint32(st.MaxFanout),
		AvgFanout:    st.AvgFanout,
	}
	var details []monitor.SubDetail
	if opts.Subscriptions {
		clients := s.networkClients()
		sort.Slice(clients, func(i, j int) bool { return clients[i].cid < clients[j].cid })
		for _, c := range clients {
			for _, sub := range c.subscriptions() {
				if opts.Test != "" && !subject.Matches(sub.subject, []byte(opts.Test)) {
					continue
				}
				details = append(details, sub.detail())
			}
		}
	}
	return monitor.NewSubsz(s.id, stats, details, opts, time.Now())
}

// Healthz reports whether the broker is serving.
func (s *Server) Healthz() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("broker is shutting down")
	}
	return nil
}

// port returns the bound client port.
func (s *Server) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// subCount is the number of subscriptions in every account.
func (s *Server) subCount() int {
	n := 0
	for _, a := range s.accounts {
		n += a.subs.Count()
	}
	return n
}

// sublistStats adds up the routing tables of the accounts; the cache and
// fan-out figures are the global account's.
func (s *Server) sublistStats() sublist.Stats {
	st := s.gacc.subs.Stats()
	for _, a := range s.accounts {
		if a == s.gacc {
			continue
		}
		o := a.subs.Stats()
		st.NumSubs += o.NumSubs
		st.NumInserts += o.NumInserts
		st.NumRemoves += o.NumRemoves
		st.NumMatches += o.NumMatches
	}
	return st
}
