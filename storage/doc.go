// Package storage is leafbox's durable state: one bbolt file holding a FIFO
// queue per forward rule (the store-and-forward buffer of the uplink),
// tables of keyed entries that other packages encode and decode themselves
// (Store.Table; the MQTT listener keeps its sessions and retained messages
// there, through bridge/mqtt/boltstore), and the identifiers the gateway
// makes for itself (Store.Identifiers).
//
// # Guarantees
//
// A record is durable when Append returns a sequence, or when an
// AppendAsync callback reports one: the bbolt transaction holding it has
// been committed and fsynced. Such a record survives a crash of the
// process (SIGKILL) and a power cut; the tests kill a writer process many
// times and check every acknowledged record. A failed append (disk full,
// I/O error, on_full: reject) returns an error and stores nothing, so a
// publisher is never acknowledged for data that is not on disk.
//
// The power-cut loss window: an append nobody waits for (AppendAsync with a
// nil callback: a publish without a reply subject) is committed at the
// latest SyncInterval after it arrived, or sooner when BatchSize records
// are pending. With sync_interval S, such a publish may be lost if the
// power fails within S of it; an acknowledged one never is. Appends that
// somebody waits for do not wait for S: the writer commits as soon as it is
// free, so concurrent appends share one transaction (group commit).
//
// Acks (Queue.Ack) are committed with the next group commit. A crash
// before that brings acked records back: the uplink sends them again,
// which the hub's duplicate window (Nats-Msg-Id) absorbs. Delivery is
// at-least-once.
//
// Sequences start at 1, are contiguous, and never go back, even when the
// queue is empty or after a restart. They do start again at 1 in a new
// file (a wiped data directory, a damaged file set aside), so every file
// has an epoch: a random 64-bit number made when the file is created and
// kept in it (Epoch, at most 13 characters of [0-9a-z]). Queue name,
// sequence and epoch name a record uniquely across every file the gateway
// ever had (two files draw the same epoch with a chance of 2^-64); the
// uplink puts all three in each message id. Records leave only from the
// front:
// by Ack, by the drop_oldest policy of max_msgs and max_bytes, and by
// max_age. Each reason has its own counter in QueueStats.Dropped, kept in
// the file.
//
// # Tables
//
// A table maps keys to a value and a version, both its owner's: the store
// does not interpret them. Each Put, Delete or Update is one transaction,
// committed and fsynced before it returns, so a change the caller saw
// succeed survives a crash and a power cut. An older release kept such
// state in top-level buckets of its own; Open moves each of them into the
// table of the same name, as entries of version 0 holding the same bytes
// (a nested bucket's values are keyed by their path, and the bucket
// itself becomes an empty entry), in the transaction that checks the
// format version. The format version stays the same: a release that finds
// a version it does not know sets the whole file aside, queues included,
// and an OTA rollback must not do that.
//
// # Damage
//
// Open never refuses to start because of the file's contents. Before bbolt
// opens the file its page tree is walked (bbolt panics on damaged pages,
// in places no recover reaches), then bbolt's own check runs (for at most
// a bounded time), then every queue is scanned for its invariants. A file
// that fails any step (or is not a bbolt file at all, or is empty or cut
// short: only a missing file is a new store) is renamed to
// leafbox.db.damaged-TIMESTAMP, a fresh empty store takes its place, the
// problem is logged at error level and Open returns a non-nil *Recovery,
// with the number of queued records the file still showed when it could
// be read that far.
//
// Those steps read the whole file, which takes seconds for a big one (and
// much longer on an SD card), so they run before Open returns only for a
// file of at most 32 MiB. A bigger file is opened reading only its meta
// page, its freelist page and the ends of each queue (each queue's record
// bytes are kept in the file beside its drop counters), and checked the
// same way in the background right after (Store.VerifyErr). Open counts
// the start in leafbox.db.verify first; the check removes that marker when
// the file passes. A file that fails is reported at error level and set
// aside by the next Open; so is one whose marker shows two starts in a row
// that never finished the check (a process that dies before its check
// ends, perhaps because bbolt panicked on the damage first). The check
// holds one read transaction throughout (about 4 s for 1 GiB on a PC): until
// it ends, pages freed by commits are not reused (the file may grow) and
// compaction waits. Close stops it; the next start checks again.
// The three newest damaged copies are kept. A file locked by another
// process is an error, not damage.
//
// Records carry no checksum of their own: bbolt checks its page structure,
// not the bytes of values, so a flipped bit inside a payload goes unseen.
//
// # Files and wear
//
// bbolt keeps its free list in the file while it is small (at most 1024
// free pages, at most two pages more per commit), so that Open reads it
// instead of rebuilding it from every page; with more free pages (a
// drained backlog, until compaction) commits leave it out and Close writes
// it once. A file without a free list (after a crash with many free pages,
// or written by an older release) is read in full at its next open. The
// hashmap free list is used. Queue
// buckets are filled to 100% because keys only grow. bbolt files never
// shrink: when the file is at least 16 MiB and more than 60% of it is free,
// the writer copies the live data into leafbox.db.compact and renames it
// over the file. The old file stays valid until the rename; a leftover
// temporary file is removed at the next Open.
//
// Every commit rewrites at least a few 4 KiB pages, so the bytes written
// per payload byte depend on how many records share a commit: see
// scripts/bench-store.sh for the measured figures.
//
// # Concurrency
//
// All methods are safe for concurrent use. One writer goroutine commits the
// queues; tables and identifiers run their own small transactions.
// AppendAsync callbacks run on the writer goroutine and must not block.
package storage
