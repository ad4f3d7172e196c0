package wsconn

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzReadFrames from the frame table")

// fuzzKey is the handshake key of the fixed response that precedes the
// fuzzed frames.
const fuzzKey = "dGhlIHNhbXBsZSBub25jZQ=="

// recordConn is an in-memory net.Conn: Read serves src, Write records.
type recordConn struct {
	memConn
	out bytes.Buffer
}

func (r *recordConn) Write(p []byte) (int, error) { return r.out.Write(p) }

// FuzzReadFrames feeds an arbitrary server byte stream, after a valid
// handshake response, to the frame reader: it must not panic, must not
// allocate without bound, must keep its error, and may only ever answer
// with masked pong and close frames.
func FuzzReadFrames(f *testing.F) {
	for _, tc := range fuzzSeeds() {
		f.Add(tc.script, tc.compress)
	}
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(fuzzKey) + "\r\n"
		if compress {
			resp += deflateAccept
		}
		resp += "\r\n"
		rc := &recordConn{memConn: memConn{src: io.MultiReader(bytes.NewReader([]byte(resp)), bytes.NewReader(data))}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)

		br := bufio.NewReaderSize(rc, readBufferSize)
		res, err := readResponse(br, fuzzKey, true)
		if err != nil || res.compress != compress {
			t.Fatalf("handshake: %v, compress %v", err, res.compress)
		}
		c, err := newConn(rc, br, res.compress, 256<<10)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		total := 0
		// Deflate expands up to ~1000x: cap the output so one input stays fast.
		for total < 8<<20 {
			n, err := c.Read(buf)
			total += n
			if err != nil {
				if _, err2 := c.Read(buf); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				failed := errors.Is(err, ErrProtocol) || errors.Is(err, ErrMessageTooBig)
				if failed && !bytes.Contains(rc.out.Bytes(), []byte{0x88}) {
					t.Fatalf("%v without a close frame", err)
				}
				break
			}
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Fatalf("allocated %d bytes for %d input bytes", grew, len(data))
		}
		for out := bytes.NewReader(rc.out.Bytes()); out.Len() > 0; {
			fr, err := readClientFrame(out)
			if err != nil {
				t.Fatalf("client wrote a bad frame: %v", err)
			}
			if op := fr.b0 & 0x0F; !fr.masked || fr.b0&0xF0 != 0x80 || (op != opPong && op != opClose) {
				t.Fatalf("client wrote frame %#x masked=%v", fr.b0, fr.masked)
			}
		}
	})
}

// fuzzSeeds is the frame table without its 100 KB streams, which would
// bloat the committed corpus and slow the fuzzer down.
func fuzzSeeds() []frameCase {
	var out []frameCase
	for _, tc := range frameCases() {
		if len(tc.script) <= 4096 {
			out = append(out, tc)
		}
	}
	return out
}

// TestWriteFuzzSeeds keeps the committed seed corpus in step with the frame
// table: run with -update-fuzz-seeds after changing frameCases.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadFrames")
	for i, tc := range fuzzSeeds() {
		name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbool(%v)\n", strconv.Quote(string(tc.script)), tc.compress)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != body {
			t.Errorf("seed %s (%s) is stale; run go test -run TestWriteFuzzSeeds -update-fuzz-seeds", name, tc.name)
		}
	}
}
