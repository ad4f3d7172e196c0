package wsconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// hubMessage is a data message as the fake hub decoded it.
type hubMessage struct {
	data       []byte
	compressed bool
	key        [4]byte
}

// collectMessages reads client frames until a close frame or an error and
// decodes data messages; it reports protocol mistakes with t.Errorf.
func collectMessages(t *testing.T, h *fakeHubConn) (msgs []hubMessage, closeCode int, pongs int) {
	closeCode = -1
	for {
		f, err := readClientFrame(h.br)
		if err != nil {
			return
		}
		if !f.masked {
			t.Errorf("unmasked client frame %#x", f.b0)
		}
		if f.b0&0x80 == 0 {
			t.Errorf("client sent a fragment %#x", f.b0)
		}
		switch op := f.b0 & 0x0F; op {
		case opBinary:
			m := hubMessage{data: f.payload, compressed: f.b0&rsv1Bit != 0, key: f.key}
			if m.compressed {
				if m.data, err = inflate(f.payload); err != nil {
					t.Errorf("inflate client message: %v", err)
				}
			}
			msgs = append(msgs, m)
		case opPong:
			pongs++
		case opClose:
			closeCode = 0
			if len(f.payload) >= 2 {
				closeCode = int(binary.BigEndian.Uint16(f.payload))
			}
			return
		default:
			t.Errorf("unexpected client opcode %#x", op)
		}
	}
}

func TestWrite(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	tests := []struct {
		name           string
		compress       bool
		writes         [][]byte
		wantCompressed int // messages with RSV1
	}{
		{"small", false, [][]byte{[]byte("CONNECT {}\r\n"), []byte("PING\r\n")}, 0},
		{"medium and 1 MiB in single frames", false, [][]byte{bytes.Repeat([]byte("x"), 300), big}, 0},
		{"compressed small stays plain", true, [][]byte{[]byte("PING\r\n")}, 0},
		{"compressed 1 MiB in 32 KiB messages", true, [][]byte{big}, 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				msgs      []hubMessage
				closeCode int
			}
			res := make(chan result, 1)
			url := fakeHub(t, func(h *fakeHubConn) {
				ext := ""
				if tc.compress {
					ext = deflateAccept
				}
				h.accept(ext)
				msgs, code, _ := collectMessages(t, h)
				res <- result{msgs, code}
			})
			c, err := Dial(context.Background(), url, Options{Compression: tc.compress})
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for _, w := range tc.writes {
				orig := bytes.Clone(w)
				n, err := c.Write(w)
				if err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
				if !bytes.Equal(w, orig) {
					t.Fatal("Write modified the caller's buffer")
				}
				want = append(want, w...)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			r := <-res
			var got []byte
			compressed := 0
			keys := map[[4]byte]bool{}
			for _, m := range r.msgs {
				got = append(got, m.data...)
				if m.compressed {
					compressed++
				}
				keys[m.key] = true
			}
			if !bytes.Equal(got, want) {
				t.Errorf("hub got %d bytes, want %d (equal prefix? %v)", len(got), len(want), bytes.HasPrefix(want, got))
			}
			if compressed != tc.wantCompressed {
				t.Errorf("%d compressed messages, want %d", compressed, tc.wantCompressed)
			}
			if len(r.msgs) > 1 && len(keys) < 2 {
				t.Errorf("all %d frames used the same mask key", len(r.msgs))
			}
			if r.closeCode != closeNormal {
				t.Errorf("close code %d, want %d", r.closeCode, closeNormal)
			}
		})
	}
}

// TestConcurrentWriteAndRead pins that writers are serialized whole frames
// at a time while the reader answers pings in between.
func TestConcurrentWriteAndRead(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			const writers, perWriter, pings = 4, 50, 20
			type result struct {
				msgs  []hubMessage
				pongs int
			}
			res := make(chan result, 1)
			url := fakeHub(t, func(h *fakeHubConn) {
				ext := ""
				if compress {
					ext = deflateAccept
				}
				h.accept(ext)
				go func() {
					for i := range pings {
						h.nc.Write(frame(0x89, []byte(fmt.Sprint(i))))
						h.nc.Write(frame(0x82, []byte("data")))
					}
				}()
				msgs, _, pongs := collectMessages(t, h)
				res <- result{msgs, pongs}
			})
			c, err := Dial(context.Background(), url, Options{Compression: compress})
			if err != nil {
				t.Fatal(err)
			}
			// The reader answers pings while the writers run; every ping
			// precedes the last data frame, so all pongs are out once all
			// data is read.
			want := strings.Repeat("data", pings)
			readDone := make(chan []byte, 1)
			go func() {
				got := make([]byte, len(want))
				n, err := io.ReadFull(c, got)
				if err != nil {
					t.Errorf("Read: %v", err)
				}
				readDone <- got[:n]
			}()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						msg := fmt.Sprintf("<%d.%d:%s>", w, i, strings.Repeat("p", (w*perWriter+i)%300))
						if _, err := c.Write([]byte(msg)); err != nil {
							t.Errorf("Write: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			read := <-readDone
			c.Close()
			if string(read) != want {
				t.Errorf("read %q, want %q", trim(read), trim([]byte(want)))
			}
			r := <-res
			if len(r.msgs) != writers*perWriter {
				t.Fatalf("hub got %d messages, want %d", len(r.msgs), writers*perWriter)
			}
			for _, m := range r.msgs {
				var w, i int
				var rest string
				if _, err := fmt.Sscanf(string(m.data), "<%d.%d:%s", &w, &i, &rest); err != nil {
					t.Fatalf("message %q is not whole: %v", trim(m.data), err)
				}
				if want := strings.Repeat("p", (w*perWriter+i)%300) + ">"; rest != want && !(rest == "" && want == ">") {
					t.Fatalf("message %q is torn", trim(m.data))
				}
			}
			if r.pongs != pings {
				t.Errorf("%d pongs, want %d", r.pongs, pings)
			}
		})
	}
}

func TestReadDeadlineIsRetryable(t *testing.T) {
	send := make(chan []byte)
	url := fakeHub(t, func(h *fakeHubConn) {
		h.accept("")
		for b := range send {
			h.nc.Write(b)
		}
		readClientFrame(h.br)
	})
	c, err := Dial(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	// First a partial frame header, then the deadline expires.
	f := frame(0x82, []byte(strings.Repeat("y", 200)))
	send <- f[:3]
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = c.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read error %v, want a timeout", err)
	}
	send <- f[3:]
	close(send)
	c.SetReadDeadline(time.Time{})
	var got []byte
	for len(got) < 200 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("Read after timeout: %v", err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != strings.Repeat("y", 200) {
		t.Fatalf("got %q", trim(got))
	}
}

func TestCloseIsBounded(t *testing.T) {
	// The hub never reads: Close must still return promptly, and a second
	// Close reports net.ErrClosed.
	release := make(chan struct{})
	url := fakeHub(t, func(h *fakeHubConn) {
		h.accept("")
		<-release
	})
	defer close(release)
	c, err := Dial(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() {
		big := make([]byte, 64<<20)
		_, err := c.Write(big) // blocks: nobody reads
		writeErr <- err
	}()
	// Wait until the writer holds the lock (it is stuck in the frame).
	wc := c.(*Conn)
	testutil.WaitFor(t, 5*time.Second, func() bool {
		if wc.wmu.TryLock() {
			wc.wmu.Unlock()
			return false
		}
		return true
	})
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := <-writeErr; err == nil {
		t.Fatal("blocked Write returned no error after Close")
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}
