package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors of the store.
var (
	// ErrClosed is returned by operations on a closed store.
	ErrClosed = errors.New("storage: store closed")
	// ErrFull is returned by an append refused by on_full: reject.
	ErrFull = errors.New("storage: queue full")
	// ErrTooLarge is returned by an append bigger than the queue's max_bytes.
	ErrTooLarge = errors.New("storage: record larger than max_bytes")
	// ErrInvalidRecord is returned by an append without a subject.
	ErrInvalidRecord = errors.New("storage: record has no subject")
	// ErrWrite wraps a failed commit (disk full, I/O error): nothing of the
	// failed transaction was stored.
	ErrWrite = errors.New("storage: write failed")
	// ErrInconsistent is returned by Check when the file or a queue breaks
	// an invariant.
	ErrInconsistent = errors.New("storage: inconsistent store")
)

// Bucket names. Every kind of state has its own top-level bucket; each
// queue has one bucket of records and each table one of entries
// (tablePrefix). Any other top-level bucket is a legacy area, moved into
// a table at open (upgradeLegacy): a new kind of bucket must be added to
// ownBucket.
var (
	bucketMeta      = []byte("meta")
	bucketQueueMeta = []byte("queue-meta")
	// bucketIdentity holds Identifiers; the name is from when the area
	// was called device state.
	bucketIdentity = []byte("device-state")
	keyVersion     = []byte("version")
	queuePrefix    = "queue/"
)

// formatVersion is the layout version written in the meta bucket.
const formatVersion = 1

// Recovery reports that the store file could not be used and was replaced by
// a fresh, empty one. Open returns it (with a working store) instead of
// failing: the buffer must never stop the daemon.
type Recovery struct {
	// Reason is what was wrong with the file.
	Reason error
	// MovedTo is where the damaged file was kept ("" if it could not be
	// moved and was removed).
	MovedTo string
	// QueuedMsgs is how many queued records the damaged file held, as far
	// as it could be read; -1 when it could not be read at all.
	QueuedMsgs int64
	// At is when the recovery happened.
	At time.Time
}

func (r *Recovery) String() string {
	held := "unknown number of queued messages"
	if r.QueuedMsgs >= 0 {
		held = fmt.Sprintf("%d queued messages", r.QueuedMsgs)
	}
	return fmt.Sprintf("store damaged (%v); moved to %q (%s), started empty", r.Reason, r.MovedTo, held)
}

// Store is the gateway's durable state in one bbolt file: one FIFO queue per
// forward rule, tables of keyed entries for other packages' state, and the
// gateway's identifiers. All methods are safe for concurrent use.
type Store struct {
	cfg  Config
	log  *slog.Logger
	path string

	// dbMu guards db: commits, reads, tables and identifiers hold it shared;
	// compaction, which swaps the file, holds it exclusively.
	dbMu sync.RWMutex
	db   *bolt.DB

	queues map[string]*Queue
	order  []*Queue

	// epochMu guards epoch (see Epoch).
	epochMu sync.Mutex
	epoch   string

	w      writer
	closed chan struct{}
	done   chan struct{}
	// closeOnce makes Close idempotent.
	closeOnce sync.Once
	closeErr  error

	waiters sync.Pool // of *waiter

	// The background verification of a big file (verify): verifyStop
	// ends it early, verifyDone is closed when it has ended (nil when
	// none runs), verifying is set while it runs.
	verifyStop chan struct{}
	verifyDone chan struct{}
	verifying  atomic.Bool
	verifyErr  atomic.Pointer[error]
}

// Open opens (or creates) the store in cfg.Dir. A damaged or foreign file is
// moved aside with a timestamp suffix and replaced by an empty store; the
// returned *Recovery is then non-nil and the problem is logged at error
// level. An error is returned only when no store can be had at all (the
// directory cannot be created or written, the file is locked by another
// process, cfg is invalid).
func Open(cfg Config, log *slog.Logger) (*Store, *Recovery, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Dir == "" {
		return nil, nil, fmt.Errorf("%w: no dir", ErrBadConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("storage: create dir: %w", err)
	}
	s := &Store{
		cfg:    cfg,
		log:    log,
		path:   filepath.Join(cfg.Dir, FileName),
		queues: make(map[string]*Queue),
		closed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.waiters.New = func() any { return &waiter{ch: make(chan struct{}, 1)} }
	// A compaction interrupted by a crash leaves its temporary file; the
	// real file was never touched.
	_ = os.Remove(s.compactPath())

	var rec *Recovery
	full := s.needFullCheck()
	err := s.openAndLoad(full)
	if err != nil && !errors.Is(err, errDamaged) {
		return nil, nil, err
	}
	if err != nil {
		rec = s.recover(err)
		full = true
		if err := s.openAndLoad(true); err != nil {
			return nil, rec, fmt.Errorf("storage: open fresh store after recovery: %w", err)
		}
	}
	if full {
		if err := os.Remove(s.verifyPath()); err == nil {
			syncDir(s.cfg.Dir)
		}
	} else if err := s.startVerify(); err != nil {
		_ = s.db.Close()
		return nil, nil, err
	}
	s.w.init(s)
	go s.w.run()
	return s, rec, nil
}

// verifyPath is the marker of a verification not yet finished.
func (s *Store) verifyPath() string { return s.path + ".verify" }

// maxUnverifiedStarts is how many starts in a row may open a big file
// whose verification never finished before one reads it in full first.
// One interrupted verification (a restart soon after a start) costs no
// slow start; a process that keeps dying before its verification ends (a
// damaged page that bbolt panics on) gets its file checked, and set aside,
// at the next start but one.
const maxUnverifiedStarts = 2

// unverifiedStarts reads the marker: how many starts began verify and did
// not finish it (0 without a marker).
func (s *Store) unverifiedStarts() int {
	b, err := os.ReadFile(s.verifyPath())
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 1 {
		// A marker cut short by a power cut still counts as one.
		return 1
	}
	return n
}

// needFullCheck reports whether Open must read the whole file before it
// returns: a file up to fullCheckMax, one that maxUnverifiedStarts starts
// opened without finishing its verification (see unverifiedStarts), one without a synced freelist (bbolt would
// read every page at open, and panic on a damaged one where no recover
// reaches), or one whose meta page cannot be read (damage, found by the
// full check).
func (s *Store) needFullCheck() bool {
	fi, err := os.Stat(s.path)
	if err != nil || fi.Size() <= s.cfg.fullCheckMax {
		return true
	}
	if s.unverifiedStarts() >= maxUnverifiedStarts {
		return true
	}
	m, err := fileMeta(s.path)
	return err != nil || m.freelist == noFreelist
}

// startVerify counts this start in the marker and starts verify.
func (s *Store) startVerify() error {
	if err := s.writeMarker(s.unverifiedStarts() + 1); err != nil {
		return err
	}
	s.verifyStop = make(chan struct{})
	s.verifyDone = make(chan struct{})
	s.verifying.Store(true)
	go s.verify()
	return nil
}

// writeMarker makes the marker hold n, durably.
func (s *Store) writeMarker(n int) error {
	f, err := os.OpenFile(s.verifyPath(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.WriteString(strconv.Itoa(n) + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("storage: write %s: %w", s.verifyPath(), err)
	}
	syncDir(s.cfg.Dir)
	return nil
}

// verify reads a big file in full after Open, in the background: the page
// walk of checkFile and every queue's records (scanQueue), in one read
// transaction. Open counted the start in a marker file beside the store
// before it returned; verify removes the marker when the file passes. A
// file that fails is reported at error level (and by VerifyErr) and its
// marker is set to maxUnverifiedStarts, so the next Open runs the full
// check first and sets the file aside. A process that dies while verify
// runs (bbolt may panic on a damaged page before verify reaches it)
// leaves the marker counted: after maxUnverifiedStarts such starts, the
// next one checks in full.
func (s *Store) verify() {
	defer close(s.verifyDone)
	defer s.verifying.Store(false)
	start := time.Now()
	err := s.verifyFile()
	switch {
	case errors.Is(err, errStopped):
		return
	case err != nil:
		s.verifyErr.Store(&err)
		if werr := s.writeMarker(maxUnverifiedStarts); werr != nil {
			s.log.Error("store verification marker not written", "err", werr)
		}
		s.log.Error("STORE DAMAGED (found after start): the next start sets the file aside and starts empty",
			"path", s.path, "err", err)
		return
	}
	if err := os.Remove(s.verifyPath()); err != nil {
		s.log.Warn("store verified, but its marker stays: the next start verifies again", "path", s.verifyPath(), "err", err)
		return
	}
	syncDir(s.cfg.Dir)
	s.log.Debug("store verified", "path", s.path, "took", time.Since(start))
}

// VerifyErr is the damage the background verification of a big file
// found after Open returned, or nil (none found, or not finished).
func (s *Store) VerifyErr() error {
	if p := s.verifyErr.Load(); p != nil {
		return *p
	}
	return nil
}

// waitVerified waits for the background verification, if any (tests).
func (s *Store) waitVerified() {
	if s.verifyDone != nil {
		<-s.verifyDone
	}
}

func (s *Store) verifyFile() (err error) {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt panic: %v", r)
		}
	}()
	tx, err := s.db.Begin(false)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// The read transaction keeps every page of its tree from being reused
	// while the walk reads them from the file.
	ps := uint64(s.db.Info().PageSize)
	w := &pageWalker{f: f, size: fi.Size(), stop: s.verifyStop}
	if err := w.walk(uint64(tx.Cursor().Bucket().Root()), ps, uint64(tx.Size())/ps); err != nil {
		return err
	}
	for _, q := range s.order {
		select {
		case <-s.verifyStop:
			return errStopped
		default:
		}
		st, err := scanQueue(tx, q.rule.Name, s.verifyStop)
		if err != nil {
			return fmt.Errorf("queue %s: %w", q.rule.Name, err)
		}
		var kept queueState
		if b, ok := decodeQueueMeta(tx.Bucket(bucketQueueMeta).Get([]byte(q.rule.Name)), &kept); ok && b != st.bytes {
			return fmt.Errorf("queue %s: %d record bytes, %d recorded", q.rule.Name, st.bytes, b)
		}
	}
	return nil
}

// errDamaged marks an open failure that recovery can fix.
var errDamaged = errors.New("damaged")

type damagedError struct {
	err error
	// queued is the queued records counted in the file, -1 if unknown.
	queued int64
}

func (e damagedError) Error() string { return e.err.Error() }
func (e damagedError) Unwrap() []error {
	return []error{errDamaged, e.err}
}

func damaged(format string, args ...any) error {
	return damagedError{err: fmt.Errorf(format, args...), queued: -1}
}

// withQueued adds to a damaged error the number of queued records that
// db, opened but failing a later check, still shows.
func withQueued(err error, db *bolt.DB) error {
	var de damagedError
	if !errors.As(err, &de) {
		return err
	}
	de.queued = countQueued(db)
	return de
}

// countQueued counts the records in every queue bucket of db, or returns
// -1 if the file cannot be read that far.
func countQueued(db *bolt.DB) (n int64) {
	defer func() {
		if recover() != nil {
			n = -1
		}
	}()
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if len(name) > len(queuePrefix) && string(name[:len(queuePrefix)]) == queuePrefix {
				n += int64(b.Stats().KeyN)
			}
			return nil
		})
	})
	if err != nil {
		return -1
	}
	return n
}

// growStep is how much bbolt grows the file beyond what it needs, once the
// file is past it. bbolt's default (16 MiB, with the file doubling below
// that) leaves up to half the file preallocated; on a small SD card the
// buffer should take what it uses.
const growStep = 1 << 20

// boltOptions are the options of every open of the store file.
func (s *Store) boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout:      2 * time.Second,
		FreelistType: bolt.FreelistMapType,
		MaxSize:      s.cfg.maxFileSize,
	}
}

// openAndLoad opens the file, checks it and loads the queues' state. A
// damaged file can make bbolt panic while reading it: that is damage too.
func (s *Store) openAndLoad(full bool) (err error) {
	db, err := openBolt(s.path, s.boltOptions(), full)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			s.db = nil
			_ = db.Close()
			err = damaged("read %s: bbolt panic: %v", s.path, r)
		}
	}()
	// Without full, Store.verify checks the same after Open.
	if full {
		if err := s.integrityCheck(db); err != nil {
			err = withQueued(err, db)
			_ = db.Close()
			return err
		}
	}
	if err := s.initLayout(db); err != nil {
		err = withQueued(err, db)
		_ = db.Close()
		return err
	}
	s.db = db
	if err := s.loadQueues(full); err != nil {
		err = withQueued(err, db)
		s.db = nil
		_ = db.Close()
		return err
	}
	return nil
}

// openBolt opens a bbolt file, turning what a damaged file causes (errors
// and panics inside bbolt) into a damaged error.
func openBolt(path string, opts *bolt.Options, full bool) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, damaged("open %s: bbolt panic: %v", path, r)
		}
	}()
	// Walk the pages first: a damaged page makes bbolt panic where no
	// recover reaches.
	if err := probeLock(path); err != nil {
		return nil, err
	}
	// Without full, Store.verify walks the pages after Open.
	if full {
		if err := checkFile(path); err != nil {
			return nil, damaged("check %s: %w", path, err)
		}
	}
	db, err = bolt.Open(path, 0o600, opts)
	if err == nil {
		db.AllocSize = growStep
		return db, nil
	}
	var pe *os.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("storage: open %s: locked by another process: %w", path, err)
	case errors.As(err, &pe) && (errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist)):
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	return nil, damaged("open %s: %w", path, err)
}

// integrityCheck runs bbolt's consistency check, for at most checkTimeout.
// A check that takes longer goes on in the background and only logs.
func (s *Store) integrityCheck(db *bolt.DB) error {
	tx, err := db.Begin(false)
	if err != nil {
		return damaged("begin check: %w", err)
	}
	ch := tx.Check()
	timer := time.NewTimer(s.cfg.checkTimeout)
	defer timer.Stop()
	var errs []error
	for {
		select {
		case err, ok := <-ch:
			if !ok {
				_ = tx.Rollback()
				if len(errs) > 0 {
					return damaged("integrity check: %w", errors.Join(errs...))
				}
				return nil
			}
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		case <-timer.C:
			s.log.Warn("store integrity check still running; going on without waiting", "path", s.path, "after", s.cfg.checkTimeout)
			go func() {
				n := 0
				for err := range ch {
					n++
					if n <= 10 {
						s.log.Error("store integrity check", "path", s.path, "err", err)
					}
				}
				_ = tx.Rollback()
			}()
			return nil
		}
	}
}

// initLayout creates the buckets and checks the format version. A name
// that holds a plain value where a bucket belongs can only come from
// damage; other errors (a full disk) are reported as they are.
func (s *Store) initLayout(db *bolt.DB) error {
	bucket := func(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
		b, err := tx.CreateBucketIfNotExists(name)
		if errors.Is(err, berrors.ErrIncompatibleValue) {
			return nil, damaged("bucket %s: %w", name, err)
		}
		return b, err
	}
	var moved []string
	err := db.Update(func(tx *bolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyVersion); v == nil {
			if err := meta.Put(keyVersion, []byte{formatVersion}); err != nil {
				return err
			}
		} else if len(v) != 1 || v[0] != formatVersion {
			return damaged("unknown format version %v", v)
		}
		if err := s.loadEpoch(meta); err != nil {
			return err
		}
		if moved, err = upgradeLegacy(tx); err != nil {
			return err
		}
		names := [][]byte{bucketQueueMeta, bucketIdentity}
		for _, r := range s.cfg.Forward {
			names = append(names, queueBucket(r.Name))
		}
		for _, name := range names {
			if _, err := bucket(tx, name); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errDamaged) {
		return err
	}
	if err != nil {
		return fmt.Errorf("storage: init %s: %w", s.path, err)
	}
	for _, name := range moved {
		s.log.Info("store: moved a legacy area into its table", "area", name)
	}
	return nil
}

func queueBucket(name string) []byte { return []byte(queuePrefix + name) }

// loadQueues builds the in-memory state of every configured queue from the
// file, checking the queue invariants on the way. Unless full, a queue
// whose record bytes are kept in the queue-meta bucket is loaded from the
// ends of its bucket only (quickQueue).
func (s *Store) loadQueues(full bool) error {
	s.queues = make(map[string]*Queue)
	s.order = s.order[:0]
	return s.db.View(func(tx *bolt.Tx) error {
		for _, r := range s.cfg.Forward {
			q := newQueue(s, r, s.cfg.Limits.over(r.Limits))
			var kept queueState
			bytes, ok := decodeQueueMeta(tx.Bucket(bucketQueueMeta).Get([]byte(r.Name)), &kept)
			var st queueState
			var err error
			if ok && !full {
				st, err = quickQueue(tx, r.Name, bytes)
			} else {
				st, err = scanQueue(tx, r.Name, nil)
			}
			if err != nil {
				return damaged("queue %s: %w", r.Name, err)
			}
			q.st = st
			q.st.drops = kept.drops
			s.queues[r.Name] = q
			s.order = append(s.order, q)
		}
		// Queues of rules no longer configured are kept, not deleted.
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			n := string(name)
			if len(n) > len(queuePrefix) && n[:len(queuePrefix)] == queuePrefix {
				if _, ok := s.queues[n[len(queuePrefix):]]; !ok {
					if k, _ := b.Cursor().First(); k != nil {
						s.log.Warn("store holds a queue with no forward rule; kept", "queue", n[len(queuePrefix):])
					}
				}
			}
			return nil
		})
	})
}

// recover moves the damaged file aside and logs loudly.
func (s *Store) recover(cause error) *Recovery {
	rec := &Recovery{Reason: cause, At: time.Now(), QueuedMsgs: -1}
	var de damagedError
	if errors.As(cause, &de) {
		rec.QueuedMsgs = de.queued
	}
	aside := fmt.Sprintf("%s.damaged-%s", s.path, rec.At.UTC().Format("20060102T150405.000Z"))
	if err := os.Rename(s.path, aside); err != nil {
		s.log.Error("store damaged and cannot be moved aside; removing it", "path", s.path, "err", err)
		_ = os.Remove(s.path)
	} else {
		rec.MovedTo = aside
		syncDir(s.cfg.Dir)
	}
	s.log.Error("STORE DAMAGED: started an empty store; queued messages in the old file were not forwarded",
		"path", s.path, "moved_to", rec.MovedTo, "queued_msgs", rec.QueuedMsgs, "err", cause)
	s.pruneDamaged(3)
	return rec
}

// pruneDamaged keeps only the newest keep damaged copies, so repeated
// damage cannot fill the data partition.
func (s *Store) pruneDamaged(keep int) {
	old, _ := filepath.Glob(s.path + ".damaged-*")
	// Names sort by time thanks to the timestamp format.
	for len(old) > keep {
		_ = os.Remove(old[0])
		s.log.Warn("removed old damaged store copy", "path", old[0])
		old = old[1:]
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Path is the store file.
func (s *Store) Path() string { return s.path }

// Queue returns the queue of the forward rule name, or nil.
func (s *Store) Queue(name string) *Queue { return s.queues[name] }

// Queues returns the queues in forward rule order.
func (s *Store) Queues() []*Queue { return s.order }

// Close commits what is pending, stops the writer and closes the file.
// Appends after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.verifyDone != nil {
			close(s.verifyStop)
			<-s.verifyDone
		}
		close(s.closed)
		s.w.wake()
		<-s.done
		s.dbMu.Lock()
		defer s.dbMu.Unlock()
		if s.db != nil {
			if s.db.NoFreelistSync {
				// Leave the freelist in the file for a fast next Open.
				if err := s.db.Update(func(*bolt.Tx) error {
					s.db.NoFreelistSync = false
					return nil
				}); err != nil {
					s.log.Warn("store freelist not written at close; the next start reads the whole file", "path", s.path, "err", err)
				}
			}
			if err := s.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("storage: close %s: %w", s.path, err)
			}
		}
	})
	return s.closeErr
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	if s.w.stopped() {
		return ErrClosed
	}
	return s.db.View(fn)
}

// update runs fn in its own write transaction (tables and identifiers; the
// queues go through the group-commit writer).
func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}
