package forward

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/subject"
	"github.com/leafbox/leafbox/storage"
)

// Defaults for zero Config fields.
const (
	DefaultWindow     = 256
	DefaultAckTimeout = 5 * time.Second
	DefaultRetryDelay = time.Second
)

// Sentinel errors.
var (
	// ErrBadConfig reports an invalid Config or missing Deps.
	ErrBadConfig = errors.New("forward: bad config")
	// ErrNotForwarded is returned by Append for a subject no rule forwards.
	ErrNotForwarded = errors.New("forward: subject not forwarded")
)

// idKey is the store identifier key of the generated gateway id.
const idKey = "forward.id"

// queueGroup is the private queue group of the rules' subscriptions (see
// the package documentation: it keeps hub messages out of the queues).
const queueGroup = "_leafbox_forward"

// Config tunes the forwarder. Zero fields mean their defaults.
type Config struct {
	// ID names this gateway in Nats-Msg-Id headers, so it must be stable
	// across restarts and unique among the hub's leaves: the device id or
	// server_name. Empty: a random id generated once and kept in the store.
	ID string
	// Window bounds the messages in flight per rule (default 256).
	Window int
	// AckTimeout is how long a message waits for the hub stream's ack (or
	// a flush for its PONG) before the window is sent again (default 5s).
	AckTimeout time.Duration
	// RetryDelay is the pause before sending again after an error reply
	// or a timeout (default 1s).
	RetryDelay time.Duration
	// Account is the broker account the rules take messages from and
	// answer publish acks in, and where the hub's stream acks arrive: the
	// account of the leafnode remote the queues drain through. Empty
	// means the global account.
	Account string
}

// Validate reports the first problem of c.
func (c Config) Validate() error {
	switch {
	case c.Window < 0 || c.Window > 1<<16:
		return fmt.Errorf("%w: window %d out of [0, 65536]", ErrBadConfig, c.Window)
	case c.AckTimeout < 0 || c.RetryDelay < 0:
		return fmt.Errorf("%w: negative duration", ErrBadConfig)
	}
	for _, b := range []byte(c.ID) {
		if b <= ' ' || b >= 0x7f {
			return fmt.Errorf("%w: id %q must be printable ASCII without spaces", ErrBadConfig, c.ID)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	return c
}

// Deps are what the forwarder works with.
type Deps struct {
	Server *broker.Server
	Store  *storage.Store
	Log    *slog.Logger
}

// Forwarder queues local messages on forwarded subjects and drains the
// queues up the leafnode link. It is a leaf.Forwarder and the MQTT
// listener's Durable hook.
type Forwarder struct {
	cfg   Config
	srv   *broker.Server
	store *storage.Store
	log   *slog.Logger
	rules []*rule
	// inbox is the prefix of the reply subjects of ack: jetstream sends.
	inbox     string
	ackClient *broker.LocalClient

	// idMu guards epoch; idGen counts its renewals, so a drain loop sees
	// a change with one atomic load per record.
	idMu  sync.Mutex
	epoch string
	idGen atomic.Uint64

	mu     sync.Mutex
	cancel context.CancelFunc // stops the current link's drain loops
	done   chan struct{}      // closed once they have all returned
	closed bool
}

var _ leaf.Forwarder = (*Forwarder)(nil)

// New subscribes to every forward rule's subjects and returns the
// forwarder; Run keeps it until its context ends. Every rule of the store's
// config must have its queue in Store.
func New(cfg Config, d Deps) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Server == nil || d.Store == nil {
		return nil, fmt.Errorf("%w: Server and Store are required", ErrBadConfig)
	}
	cfg = cfg.withDefaults()
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	f := &Forwarder{cfg: cfg, srv: d.Server, store: d.Store, log: d.Log, epoch: d.Store.Epoch()}
	if f.cfg.ID == "" {
		id, err := storedID(d.Store)
		if err != nil {
			return nil, err
		}
		f.cfg.ID = id
	}
	f.inbox = "_INBOX.lbfwd." + randomToken()
	for i, q := range d.Store.Queues() {
		f.rules = append(f.rules, newRule(f, i, q))
	}
	ackClient, err := d.Server.NewAccountClient(cfg.Account, broker.LocalOptions{Name: "forward-acks"})
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	f.ackClient = ackClient
	// The link advertises this subscription, so the hub's stream acks
	// come back down.
	if _, err := f.ackClient.Subscribe(f.inbox+".>", "", f.onHubAck); err != nil {
		f.closeClients()
		return nil, fmt.Errorf("forward: subscribe %s: %w", f.inbox, err)
	}
	for _, r := range f.rules {
		if err := r.subscribe(); err != nil {
			f.closeClients()
			return nil, err
		}
	}
	return f, nil
}

// storedID returns the gateway id kept in the store, making one first.
func storedID(s *storage.Store) (string, error) {
	ds := s.Identifiers()
	if v, ok, err := ds.Get(idKey); err != nil {
		return "", fmt.Errorf("forward: read id: %w", err)
	} else if ok && len(v) > 0 {
		return string(v), nil
	}
	id := "lb" + randomToken()
	if err := ds.Put(idKey, []byte(id)); err != nil {
		return "", fmt.Errorf("forward: keep id: %w", err)
	}
	return id, nil
}

func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ID is the gateway id used in Nats-Msg-Id headers.
func (f *Forwarder) ID() string { return f.cfg.ID }

// Epoch is the store epoch used in Nats-Msg-Id headers (see the package
// documentation).
func (f *Forwarder) Epoch() string {
	f.idMu.Lock()
	defer f.idMu.Unlock()
	return f.epoch
}

// msgIDPrefix returns "<id>-<epoch>-<rule>-" and the epoch generation it
// belongs to.
func (f *Forwarder) msgIDPrefix(rule string) ([]byte, uint64) {
	f.idMu.Lock()
	defer f.idMu.Unlock()
	return []byte(f.cfg.ID + "-" + f.epoch + "-" + rule + "-"), f.idGen.Load()
}

// maxEpochRenewals bounds the epoch renewals per run (see
// drainer.collision).
const maxEpochRenewals = 3

// errRenewals is returned by renewEpoch past maxEpochRenewals.
var errRenewals = errors.New("forward: the hub reports duplicates under fresh epochs too; check that no other gateway uses this id (server_name)")

// renewEpoch makes the store take a new epoch, unless another rule already
// renewed the one of generation seen.
func (f *Forwarder) renewEpoch(seen uint64) error {
	f.idMu.Lock()
	defer f.idMu.Unlock()
	switch g := f.idGen.Load(); {
	case g != seen:
		return nil
	case g >= maxEpochRenewals:
		return errRenewals
	}
	e, err := f.store.RenewEpoch()
	if err != nil {
		return err
	}
	f.log.Warn("forward: new store epoch for message ids", "epoch", e, "previous", f.epoch)
	f.epoch = e
	f.idGen.Add(1)
	return nil
}

// Run blocks until ctx ends, then stops the drain loops and unsubscribes.
func (f *Forwarder) Run(ctx context.Context) error {
	<-ctx.Done()
	f.mu.Lock()
	f.closed = true
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
	done := f.done
	f.mu.Unlock()
	if done != nil {
		<-done
	}
	f.closeClients()
	return nil
}

// Close drops the subscriptions New made, for a Forwarder that will not
// run (the daemon failed to start after building it). Run drops them
// itself when its context ends; Close is harmless after Run.
func (f *Forwarder) Close() error {
	f.closeClients()
	return nil
}

func (f *Forwarder) closeClients() {
	if f.ackClient != nil {
		f.ackClient.Close()
	}
	for _, r := range f.rules {
		if r.lc != nil {
			r.lc.Close()
		}
	}
}

// ruleFor returns the first rule forwarding subj, or nil. It does not
// allocate.
func (f *Forwarder) ruleFor(subj []byte) *rule {
	for _, r := range f.rules {
		for _, filter := range r.subjects {
			if subject.Matches(filter, subj) {
				return r
			}
		}
	}
	return nil
}

// Owns reports whether subj is forwarded (leaf.Forwarder): the link's live
// path leaves it to the queue.
func (f *Forwarder) Owns(subj []byte) bool { return f.ruleFor(subj) != nil }

// Forwarded is Owns for the MQTT listener's Durable hook.
func (f *Forwarder) Forwarded(subj []byte) bool { return f.ruleFor(subj) != nil }

// Append commits a message on a forwarded subject to its queue (it returns
// after the fsync) and then delivers it to local subscribers. It is the
// MQTT listener's Durable hook. The slices are not kept.
func (f *Forwarder) Append(ctx context.Context, subj, header, data []byte) error {
	r := f.ruleFor(subj)
	if r == nil {
		return fmt.Errorf("%w: %s", ErrNotForwarded, subj)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("forward: append to %s: %w", r.name, err)
	}
	rec := storage.Record{Subject: subj, Header: header, Payload: data, Published: time.Now()}
	if _, err := r.q.Append(&rec); err != nil {
		return fmt.Errorf("forward: append to %s: %w", r.name, err)
	}
	// The rule's client does not see its own publishes, and other rules
	// leave subjects of an earlier rule alone: the message is queued once.
	if err := r.lc.Publish(broker.Msg{Subject: subj, Header: header, Data: data}); err != nil {
		return fmt.Errorf("forward: deliver %s locally: %w", subj, err)
	}
	return nil
}

// LinkUp starts a drain loop per rule on s (leaf.Forwarder). It returns at
// once; the loops wait for those of the previous link to end first.
func (f *Forwarder) LinkUp(s leaf.Sender) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if f.cancel != nil {
		f.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	prev, done := f.done, make(chan struct{})
	f.cancel, f.done = cancel, done
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		var wg sync.WaitGroup
		for _, r := range f.rules {
			wg.Go(func() { r.drain(ctx, s) })
		}
		wg.Wait()
	}()
}

// LinkDown stops the drain loops (leaf.Forwarder); the next LinkUp starts
// again from the first unacknowledged record.
func (f *Forwarder) LinkDown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

// rule is one forward rule: its queue, its local client and its drain state.
type rule struct {
	f        *Forwarder
	idx      int
	q        *storage.Queue
	name     string
	subjects []string
	mode     storage.AckMode
	stream   string
	lc       *broker.LocalClient

	// replyPrefix is "<inbox>.<name>.".
	replyPrefix []byte
	// ackBuf is the local publish ack being built; only the store's
	// writer goroutine (which runs the append callbacks) touches it.
	ackBuf   []byte
	onCommit storage.AppendFunc
	onReply  func(reply []byte)
	// scratch is the record onLocal fills (its calls are serialised).
	scratch storage.Record
	// replies are the reply subjects of appends not committed yet.
	replies replyFIFO

	// events carries hub acks and flush results to the drain loop.
	events chan ackEvent
	// ackedTo is the highest sequence acknowledged by the hub.
	ackedTo atomic.Uint64

	// Message id state, touched only by the rule's drain loop (one at a
	// time). msgIDPrefix is "<id>-<epoch>-<name>-" of epoch generation
	// idGen. A duplicate reply is genuine only for a record that may have
	// been sent before under this epoch: one at or below bootLast (queued
	// when the forwarder started, so maybe sent by an earlier run) or
	// sentTo (sent already in this run). collidedTo is the highest record
	// whose id the hub reported as used by someone else; duplicate replies
	// up to it are not genuine either until the epoch is renewed.
	// collisionStreak counts collisions since the last ack (the backoff).
	msgIDPrefix                  []byte
	idGen                        uint64
	bootLast, sentTo, collidedTo uint64
	collisionStreak              int

	sent, acked, resent, hubErrors, localErrors, idCollisions atomic.Uint64
	inFlight                                                  atomic.Int64
}

func newRule(f *Forwarder, i int, q *storage.Queue) *rule {
	rl := q.Rule()
	r := &rule{
		f: f, idx: i, q: q, name: rl.Name, subjects: rl.Subjects, mode: rl.Ack, stream: rl.Stream,
		replyPrefix: []byte(f.inbox + "." + rl.Name + "."),
		events:      make(chan ackEvent, 4*f.cfg.Window),
		bootLast:    q.Stats().LastSeq,
	}
	r.msgIDPrefix, r.idGen = f.msgIDPrefix(rl.Name)
	r.onCommit, r.onReply = r.committed, r.sendAck
	return r
}

// subscribe attaches the rule's relay client to its subjects.
func (r *rule) subscribe() error {
	lc, err := r.f.srv.NewAccountClient(r.f.cfg.Account, broker.LocalOptions{Name: "forward:" + r.name, NoEcho: true, Relay: r.onLocal,
		// A rule may forward the audit events ($LEAFBOX.audit.>) to the hub.
		Audit: true})
	if err != nil {
		return fmt.Errorf("forward: rule %s: %w", r.name, err)
	}
	r.lc = lc
	for _, s := range r.subjects {
		if _, err := r.lc.Subscribe(s, queueGroup, nil); err != nil {
			return fmt.Errorf("forward: rule %s: %w", r.name, err)
		}
	}
	return nil
}
