package storage

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

func TestAppendReadAck(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	q := s.Queue("Q")
	pub := time.Unix(1700000000, 123456789)
	in := []*Record{
		{Subject: []byte("telemetry.a"), Payload: []byte("one"), Published: pub},
		{Subject: []byte("telemetry.b"), Reply: []byte("_INBOX.x"), Payload: []byte("two")},
		{Subject: []byte("telemetry.c"), Header: []byte("NATS/1.0\r\nA: b\r\n\r\n"), Payload: nil},
	}
	for i, r := range in {
		if seq := mustAppend(t, q, r); seq != uint64(i+1) {
			t.Fatalf("append %d: seq %d", i, seq)
		}
	}
	rd := q.NewReader(1)
	for i, want := range in {
		got, err := rd.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != uint64(i+1) || !bytes.Equal(got.Subject, want.Subject) || !bytes.Equal(got.Reply, want.Reply) ||
			!bytes.Equal(got.Header, want.Header) || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("record %d: got %+v want %+v", i, got, want)
		}
		if i == 0 && !got.Published.Equal(pub) {
			t.Fatalf("published %v, want %v", got.Published, pub)
		}
		if i > 0 && time.Since(got.Published) > time.Minute {
			t.Fatalf("default publish time %v not now", got.Published)
		}
	}
	q.Ack(2)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	if st.Msgs != 1 || st.FirstSeq != 3 || st.LastSeq != 3 {
		t.Fatalf("stats after ack: %+v", st)
	}
	// Acking everything leaves an empty queue whose sequence continues.
	q.Ack(3)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if seq := mustAppend(t, q, rec(4, 10)); seq != 4 {
		t.Fatalf("after ack all: seq %d, want 4", seq)
	}
	// Acks past the last sequence do not remove later appends.
	q.Ack(100)
	mustAppend(t, q, rec(5, 10))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, q); len(got) != 1 || got[0] != 5 {
		t.Fatalf("after ack past end: %v", got)
	}
}

func TestReopenKeepsState(t *testing.T) {
	cfg := testConfig(t, Limits{MaxMsgs: 5})
	s := openTest(t, cfg)
	q := s.Queue("Q")
	for i := range 8 {
		mustAppend(t, q, rec(i, 20))
	}
	q.Ack(4)
	closeChecked(t, s)
	s = openTest(t, cfg)
	st := s.Queue("Q").Stats()
	if st.FirstSeq != 5 || st.LastSeq != 8 || st.Msgs != 4 || st.Dropped.MaxMsgs != 3 {
		t.Fatalf("after reopen: %+v", st)
	}
	if seq := mustAppend(t, s.Queue("Q"), rec(9, 20)); seq != 9 {
		t.Fatalf("seq after reopen %d", seq)
	}
}

func TestLimits(t *testing.T) {
	size := func() uint64 { return uint64(encodedSize(rec(0, 100))) }()
	tests := []struct {
		name      string
		limits    Limits
		n         int
		wantFirst uint64
		wantMsgs  uint64
		wantDrops Drops
		wantErr   error // of the last append
	}{
		{"no limits", Limits{}, 10, 1, 10, Drops{}, nil},
		{"max_msgs drop_oldest", Limits{MaxMsgs: 4}, 10, 7, 4, Drops{MaxMsgs: 6}, nil},
		{"max_bytes drop_oldest", Limits{MaxBytes: int64(3 * size)}, 10, 8, 3, Drops{MaxBytes: 7}, nil},
		{"max_msgs reject", Limits{MaxMsgs: 4, OnFull: Reject}, 10, 1, 4, Drops{Rejected: 6}, ErrFull},
		{"max_bytes reject", Limits{MaxBytes: int64(3*size + 1), OnFull: Reject}, 10, 1, 3, Drops{Rejected: 7}, ErrFull},
		{"too large", Limits{MaxBytes: int64(size - 1)}, 2, 1, 0, Drops{Rejected: 2}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, testConfig(t, tc.limits))
			q := s.Queue("Q")
			var err error
			for i := range tc.n {
				_, err = q.Append(rec(i, 100))
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("last append: %v, want %v", err, tc.wantErr)
			}
			st := q.Stats()
			if st.Msgs != tc.wantMsgs || (st.Msgs > 0 && st.FirstSeq != tc.wantFirst) || st.Dropped != tc.wantDrops {
				t.Fatalf("stats %+v; want first %d msgs %d drops %+v", st, tc.wantFirst, tc.wantMsgs, tc.wantDrops)
			}
			if st.Bytes != st.Msgs*size {
				t.Fatalf("bytes %d for %d msgs of %d", st.Bytes, st.Msgs, size)
			}
		})
	}
}

func TestMaxAge(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{MaxAge: 50 * time.Millisecond}))
	q := s.Queue("Q")
	old := rec(0, 10)
	old.Published = time.Now().Add(-time.Hour)
	mustAppend(t, q, old)
	mustAppend(t, q, rec(1, 10))
	// The expired record goes with the next commit or the expiry timer.
	testutil.WaitFor(t, 5*time.Second, func() bool { return q.Stats().Dropped.MaxAge >= 1 })
	testutil.WaitFor(t, 5*time.Second, func() bool { return q.Len() == 0 })
	if st := q.Stats(); st.Dropped.MaxAge != 2 || st.FirstSeq != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAppendAsyncOrderAndCallbacks(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	q := s.Queue("Q")
	const n = 5000
	var mu sync.Mutex
	var got []uint64
	var replies int
	done := func(seq uint64, r *Record, err error) {
		if err != nil {
			t.Errorf("async append: %v", err)
		}
		mu.Lock()
		got = append(got, seq)
		if string(r.Reply) == "r" && r.Seq == seq {
			replies++
		}
		mu.Unlock()
	}
	for i := range n {
		r := rec(i, 64)
		r.Reply = []byte("r")
		q.AppendAsync(r, done)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == n })
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("callback %d has seq %d", i, seq)
		}
	}
	if replies != n {
		t.Fatalf("reply view in %d callbacks of %d", replies, n)
	}
	// Fire-and-forget appends are committed within the sync interval.
	q.AppendAsync(rec(n, 10), nil)
	testutil.WaitFor(t, 5*time.Second, func() bool { return q.Stats().LastSeq == n+1 })
}

func TestReaderWaitsAndSkipsDropped(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{MaxMsgs: 3}))
	q := s.Queue("Q")
	rd := q.NewReader(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan uint64, 1)
	go func() {
		r, err := rd.Next(ctx)
		if err != nil {
			t.Error(err)
			got <- 0
			return
		}
		got <- r.Seq
	}()
	mustAppend(t, q, rec(1, 10))
	if seq := <-got; seq != 1 {
		t.Fatalf("woken reader got %d", seq)
	}
	for i := range 6 {
		mustAppend(t, q, rec(i, 10))
	}
	// 2..4 were dropped by max_msgs: the reader skips to 5.
	r, err := rd.Next(ctx)
	if err != nil || r.Seq != 5 {
		t.Fatalf("after drops: %v %v", r, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	rd.Reset(8)
	if _, err := rd.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next past the end: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	q := s.Queue("Q")
	mustAppend(t, q, rec(1, 10))
	closeChecked(t, s)
	if _, err := q.Append(rec(2, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	called := false
	q.AppendAsync(rec(2, 10), func(_ uint64, _ *Record, err error) { called = errors.Is(err, ErrClosed) })
	if !called {
		t.Fatal("async append after close did not report ErrClosed inline")
	}
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("sync after close: %v", err)
	}
	if _, err := q.NewReader(0).TryNext(); err == nil {
		t.Fatal("read after close did not fail")
	}
}

func TestAppendInvalid(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	if _, err := s.Queue("Q").Append(&Record{Payload: []byte("x")}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("no subject: %v", err)
	}
}
