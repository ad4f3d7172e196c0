package broker

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/leafbox/leafbox/broker/proto"
)

// LameDuck takes the server down gently, as nats-server's lame duck mode
// does: it stops accepting connections, sends every registered client an
// INFO with "ldm":true (clients reconnect elsewhere or tell the
// application), waits the grace period, then closes the clients one by one,
// spread over the duration minus the grace period (at most a second apart).
// Once the last client is closed the server shuts down and Run returns.
//
// duration and grace of zero mean the configured LameDuckDuration and
// LameDuckGracePeriod. LameDuck returns when the clients are closed, when
// ctx is cancelled (the remaining clients stay until Run ends) or at once
// when lame duck is already under way or the server is shutting down.
// In-process clients are not closed by it: they end with the server.
func (s *Server) LameDuck(ctx context.Context, duration, grace time.Duration) {
	if duration <= 0 {
		duration = s.cfg.LameDuckDuration
	}
	if grace <= 0 {
		grace = s.cfg.LameDuckGracePeriod
	}
	s.mu.Lock()
	if s.closed || s.ldm {
		s.mu.Unlock()
		return
	}
	s.ldm = true
	s.mu.Unlock()
	s.log.Info("entering lame duck mode, stop accepting new clients")
	// From here s.accept refuses what the loop still hands over.
	s.ln.Close()

	clients := s.networkClients()
	if len(clients) == 0 {
		close(s.ldmDone)
		return
	}
	rand.Shuffle(len(clients), func(i, j int) { clients[i], clients[j] = clients[j], clients[i] })
	s.sendLameDuckInfo(clients)

	interval, batch := lameDuckPace(duration-grace, len(clients))
	t := time.NewTimer(grace)
	defer t.Stop()
	// wait lets t fire; false when lame duck is cut short.
	wait := func() bool {
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
		case <-s.quit:
		}
		return false
	}
	if !wait() {
		return
	}
	s.log.Info("lame duck: closing existing clients", "clients", len(clients))
	for i, c := range clients {
		c.close(closeServerShutdown, "")
		if i == len(clients)-1 {
			break
		}
		if batch > 1 && i%batch != 0 {
			continue
		}
		// A random pause between interval/2 and interval, so that
		// reconnecting clients do not arrive elsewhere in lockstep.
		t.Reset(interval/2 + rand.N(interval-interval/2))
		if !wait() {
			return
		}
	}
	close(s.ldmDone)
}

// lameDuckPace is nats-server's spacing of the closes: n clients over
// spread, at most a second apart; when spread leaves less than a
// nanosecond per client, batch of them close per pause.
func lameDuckPace(spread time.Duration, n int) (interval time.Duration, batch int) {
	if spread <= 0 {
		spread = time.Second
	}
	interval, batch = spread/time.Duration(n), 1
	switch {
	case interval < 1:
		interval, batch = 1, n/int(spread)
	case interval > time.Second:
		interval = time.Second
	}
	return interval, batch
}

// sendLameDuckInfo sends the INFO that announces lame duck mode: the
// connection's INFO (without a nonce) with "ldm":true, to each client that
// may receive async INFO.
func (s *Server) sendLameDuckInfo(clients []*client) {
	info := s.baseInfo()
	info.LameDuckMode = true
	for _, c := range clients {
		c.mu.Lock()
		ready := c.infoReady
		c.mu.Unlock()
		if !ready {
			continue
		}
		ci := info
		ci.CID = c.cid
		ci.ClientIP = c.host
		buf, err := proto.AppendInfo(nil, &ci)
		if err != nil {
			s.log.Error("encode INFO", "err", err)
			return
		}
		c.enqueue(buf)
		c.flushNow()
	}
}

// inLameDuck reports whether LameDuck has started.
func (s *Server) inLameDuck() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ldm
}
