package leaf

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
)

// ErrNoServer reports New without a broker.
var ErrNoServer = errors.New("leaf: no broker server")

// Dialer opens the byte transport to one hub URL: TCP for nats-leaf://,
// nats:// and tls:// (TLS itself is done by the link), a websocket for
// ws:// and wss://.
type Dialer interface {
	Dial(ctx context.Context, u *url.URL, r *Remote) (net.Conn, error)
}

// Deps are what an Uplink uses. Server is required.
type Deps struct {
	Server *broker.Server
	Log    *slog.Logger
	// Audit records the hub's refusals (credentials, permissions); nil
	// records nothing.
	Audit *audit.Trail
	// Dialer defaults to TCP plus the websocket transport.
	Dialer Dialer
}

// Uplink is the leafnode uplink: one link per configured remote, each
// re-dialed forever.
type Uplink struct {
	cfg        Config
	srv        *broker.Server
	log        *slog.Logger
	audit      *audit.Trail
	dialer     Dialer
	remotes    []*remote
	lds        string // our loop-detection subject
	maxPayload int32
	cids       atomic.Uint64
}

// New validates cfg and prepares the uplink; Run connects.
func New(cfg Config, d Deps) (*Uplink, error) {
	if d.Server == nil {
		return nil, ErrNoServer
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("leafnodes: %w", err)
	}
	accounts := d.Server.Accounts()
	for i, r := range cfg.Remotes {
		if r.Account != "" && !slices.Contains(accounts, r.Account) {
			return nil, fmt.Errorf("leafnodes: remotes[%d]: account %q: %w", i, r.Account, broker.ErrNoAccount)
		}
	}
	u := &Uplink{
		cfg:        cfg.withDefaults(),
		srv:        d.Server,
		log:        d.Log,
		audit:      d.Audit,
		dialer:     d.Dialer,
		lds:        ldsPrefix + randomID(),
		maxPayload: int32(d.Server.Varz().MaxPayload),
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.dialer == nil {
		u.dialer = netDialer{}
	}
	if u.maxPayload <= 0 {
		u.maxPayload = broker.DefaultMaxPayload
	}
	for i, rc := range u.cfg.Remotes {
		r := &remote{u: u, idx: i, cfg: rc.withDefaults()}
		r.urls = append([]*url.URL(nil), rc.URLs...)
		if !r.cfg.NoRandomize {
			mrand.Shuffle(len(r.urls), func(a, b int) { r.urls[a], r.urls[b] = r.urls[b], r.urls[a] })
		}
		u.remotes = append(u.remotes, r)
	}
	return u, nil
}

// Run keeps every remote connected until ctx ends.
func (u *Uplink) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, r := range u.remotes {
		wg.Go(func() { r.run(ctx) })
	}
	wg.Wait()
	return nil
}

// randomID is a 22-character base62 id, like a NUID.
func randomID() string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [22]byte
	max := big.NewInt(int64(len(digits)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			n = big.NewInt(mrand.Int64N(int64(len(digits))))
		}
		b[i] = digits[n.Int64()]
	}
	return string(b[:])
}

// remote is one configured remote and its current link.
type remote struct {
	u   *Uplink
	idx int
	cfg Remote

	mu       sync.Mutex
	urls     []*url.URL // configured, then discovered
	next     int
	delay    time.Duration // extra wait before the next dial (rejects)
	cur      *link         // the registered link, nil while down
	connects int
	// disconnects counts registered links that ended; past holds their
	// traffic counters, so /metrics counts since start.
	disconnects int
	past        linkTotals
	// ended counts registered links that ended, failed attempts that did
	// not get as far, by reason.
	ended, failed [numEndReasons]uint64

	fwdMu   sync.Mutex
	fwdLink *link
}

// run dials, serves and re-dials forever: the base delay plus jitter in
// [0, base) between attempts, longer after a reject that asks for it.
func (r *remote) run(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if !sleepCtx(ctx, r.nextDelay()) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		u := r.pickURL()
		registered, err := r.connect(ctx, u)
		if ctx.Err() != nil {
			return
		}
		why := r.noteFailure(u, err)
		r.mu.Lock()
		if registered {
			r.ended[why]++
		} else {
			r.failed[why]++
		}
		r.mu.Unlock()
	}
}

// nextDelay is the wait before the next attempt.
func (r *remote) nextDelay() time.Duration {
	r.mu.Lock()
	extra := r.delay
	r.delay = 0
	r.mu.Unlock()
	if extra > 0 {
		return extra
	}
	return reconnectDelay(r.u.cfg.Reconnect, mrand.Int64N)
}

// reconnectDelay is base plus a jitter in [0, base).
func reconnectDelay(base time.Duration, rnd func(int64) int64) time.Duration {
	if base <= 0 {
		return 0
	}
	return base + time.Duration(rnd(int64(base)))
}

// sleepCtx waits d or until ctx ends; it reports false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pickURL returns the next URL round-robin.
func (r *remote) pickURL() *url.URL {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.urls[r.next%len(r.urls)]
	r.next++
	return u
}

// addDiscovered adds the hub's gossiped leafnode_urls (host:port) with the
// scheme and user of the URL that reached it.
func (r *remote) addDiscovered(hostports []string, via *url.URL) {
	if r.cfg.IgnoreDiscoveredServers {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, hp := range hostports {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			continue
		}
		known := false
		for _, u := range r.urls {
			if strings.EqualFold(u.Host, hp) {
				known = true
				break
			}
		}
		if !known {
			nu := &url.URL{Scheme: via.Scheme, User: via.User, Host: hp}
			r.urls = append(r.urls, nu)
			r.u.log.Debug("leafnode: discovered hub url", "url", nu.Redacted())
		}
	}
}

// noteFailure logs why a link ended, records the hub's refusals in the
// audit trail and sets the delay the reason asks for.
func (r *remote) noteFailure(u *url.URL, err error) endReason {
	log := r.u.log.With("remote", u.Redacted())
	why := endNetwork
	var rej *rejectError
	switch {
	case errors.As(err, &rej):
		d := rejectDelay(rej.text)
		why = endRejected
		switch {
		case isAuthError(rej.text):
			why = endAuth
			log.Error("leafnode: hub rejected our credentials; check the remote's credentials, nkey, user/password or token", "err", rej.text)
			r.u.audit.Record(audit.Event{Kind: audit.KindLeaf, Event: audit.AuthFailed,
				User: r.user(u), Remote: u.Host, Reason: rej.text})
		case strings.HasPrefix(rej.text, "Permissions Violation"):
			why = endPermission
			log.Error("leafnode: hub closed the link", "err", rej.text, "retry_after", d)
			dir, subj := parseViolation(rej.text)
			r.u.audit.Record(audit.Event{Kind: audit.KindLeaf, Event: audit.PermissionDenied,
				User: r.user(u), Remote: u.Host, Subject: subj, Direction: dir, Reason: rej.text})
		default:
			log.Error("leafnode: hub closed the link", "err", rej.text, "retry_after", d)
		}
		if d > 0 {
			r.mu.Lock()
			r.delay = d
			r.mu.Unlock()
		}
	case errors.Is(err, ErrLoop):
		why = endLoop
		log.Error("leafnode: loop detected, delaying reconnect", "err", err, "retry_after", loopDelay)
		r.mu.Lock()
		r.delay = loopDelay
		r.mu.Unlock()
	case errors.Is(err, ErrWrongPort):
		why = endWrongPort
		log.Error("leafnode: the url is not a leafnode port", "err", err)
	default:
		log.Warn("leafnode connection lost", "err", err)
	}
	return why
}

// user names who the remote logs in as, for audit events: the configured
// user or the URL's, else the credentials file or nkey used.
func (r *remote) user(u *url.URL) string {
	switch {
	case r.cfg.User != "":
		return r.cfg.User
	case u.User != nil && u.User.Username() != "":
		return u.User.Username()
	case r.cfg.Credentials != "":
		return "creds:" + filepath.Base(r.cfg.Credentials)
	case r.cfg.Nkey != "":
		return "nkey"
	}
	return ""
}

// parseViolation takes the direction and subject from the hub's
// "Permissions Violation for Publish to "subj"" (or "for Subscription
// to") text; empty when the text has another form.
func parseViolation(text string) (direction, subject string) {
	switch {
	case strings.Contains(text, " for Publish to "):
		direction = "publish"
	case strings.Contains(text, " for Subscription to "):
		direction = "subscribe"
	}
	if i := strings.IndexByte(text, '"'); i >= 0 {
		if j := strings.IndexByte(text[i+1:], '"'); j >= 0 {
			subject = text[i+1 : i+1+j]
		}
	}
	return direction, subject
}

// endReason is why a link or an attempt ended: the bounded reason label
// of the uplink's disconnect and connect-failure metrics.
type endReason int

const (
	endNetwork    endReason = iota // I/O error, timeout, stale link, bad stream
	endAuth                        // the hub refused our credentials
	endPermission                  // the hub's permissions violation
	endLoop                        // loop detected
	endRejected                    // any other -ERR from the hub
	endWrongPort                   // the URL is not a leafnode port
	numEndReasons
)

func (e endReason) String() string {
	switch e {
	case endAuth:
		return "auth"
	case endPermission:
		return "permission"
	case endLoop:
		return "loop"
	case endRejected:
		return "rejected"
	case endWrongPort:
		return "wrong_port"
	}
	return "network"
}

// connect dials u and serves the link until it ends. It reports whether
// the link had registered.
func (r *remote) connect(ctx context.Context, u *url.URL) (bool, error) {
	dctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimeout+r.cfg.TLSTimeout)
	conn, err := r.u.dialer.Dial(dctx, u, &r.cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	start := time.Now()
	if r.cfg.TLSFirst && !isWebsocket(u) {
		tc, err := upgradeTLS(ctx, conn, r.cfg.TLS, u.Hostname(), r.cfg.TLSTimeout)
		if err != nil {
			conn.Close()
			return false, err
		}
		conn = tc
	}
	l := newLink(r, u, conn, start)
	if err := l.handshake(ctx); err != nil {
		conn.Close()
		l.conn.Close()
		return false, err
	}
	if l.info.LeafNodeURLs != nil {
		r.addDiscovered(l.info.LeafNodeURLs, u)
	}
	err = l.serve(ctx)
	r.unregister(l)
	return l.registered, err
}

// linkUp records a registered link and hands it to the forwarder.
func (r *remote) linkUp(l *link) {
	r.mu.Lock()
	r.cur = l
	r.connects++
	r.mu.Unlock()
	if r.cfg.Forwarder == nil {
		return
	}
	r.fwdMu.Lock()
	defer r.fwdMu.Unlock()
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return
	}
	r.fwdLink = l
	r.cfg.Forwarder.LinkUp(linkSender{l})
}

// unregister clears l as the current link, counting the disconnect and
// keeping l's traffic counters, once per link.
func (r *remote) unregister(l *link) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != l {
		return
	}
	r.cur = nil
	r.disconnects++
	r.past.add(l)
}

// linkDown tells the forwarder a link it has is gone.
func (r *remote) linkDown(l *link) {
	r.unregister(l)
	if r.cfg.Forwarder == nil {
		return
	}
	r.fwdMu.Lock()
	defer r.fwdMu.Unlock()
	if r.fwdLink == l {
		r.fwdLink = nil
		r.cfg.Forwarder.LinkDown()
	}
}

// netDialer is the default Dialer.
type netDialer struct{}

func (netDialer) Dial(ctx context.Context, u *url.URL, r *Remote) (net.Conn, error) {
	if isWebsocket(u) {
		return dialWebsocket(ctx, u, r)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), fmt.Sprint(DefaultPort))
	}
	d := net.Dialer{Timeout: r.DialTimeout}
	return d.DialContext(ctx, "tcp", host)
}
