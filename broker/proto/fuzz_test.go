package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// fuzzParser uses small limits so the fuzzer reaches them.
func fuzzParser() *Parser { return &Parser{MaxControlLine: 64, MaxPayload: 256} }

// checkCalls verifies what every recorded call must satisfy whatever the input.
func checkCalls(t *testing.T, calls []string) {
	t.Helper()
	for _, c := range calls {
		var subject, reply, payload string
		var hdr int
		switch {
		case len(c) > 4 && c[:4] == "PUB ":
			if _, err := fmt.Sscanf(c, "PUB %q %q %q", &subject, &reply, &payload); err != nil {
				t.Fatalf("unparsable call %q: %v", c, err)
			}
		case len(c) > 5 && c[:5] == "HPUB ":
			if _, err := fmt.Sscanf(c, "HPUB %q %q %d %q", &subject, &reply, &hdr, &payload); err != nil {
				t.Fatalf("unparsable call %q: %v", c, err)
			}
			if hdr < 0 || hdr > len(payload) {
				t.Fatalf("%q: header size out of range", c)
			}
		default:
			continue
		}
		if subject == "" || len(payload) > 256 || bytes.ContainsAny([]byte(subject+reply), " \t\n") {
			t.Fatalf("bad message call %q", c)
		}
	}
}

// FuzzParse checks that parsing never panics, that the outcome does not depend on where the
// input is split (whole, one cut, byte at a time), and the invariants in checkCalls.
func FuzzParse(f *testing.F) {
	for _, c := range goldenCases {
		f.Add([]byte(c.in), uint16(len(c.in)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		p := fuzzParser()
		whole, werr := parseChunks(p, [][]byte{in})
		wholeIdle := p.Idle()
		checkCalls(t, whole)

		at := 0
		if len(in) > 0 {
			at = int(cut) % (len(in) + 1)
		}
		p = fuzzParser()
		split, serr := parseChunks(p, [][]byte{in[:at], in[at:]})
		if !slices.Equal(whole, split) || sentinelOf(werr) != sentinelOf(serr) {
			t.Fatalf("cut at %d: whole %q %v, split %q %v", at, whole, werr, split, serr)
		}
		if werr == nil && p.Idle() != wholeIdle {
			t.Fatalf("cut at %d: idle %v vs %v", at, p.Idle(), wholeIdle)
		}

		chunks := make([][]byte, len(in))
		for i := range in {
			chunks[i] = in[i : i+1]
		}
		bytewise, berr := parseChunks(fuzzParser(), chunks)
		if !slices.Equal(whole, bytewise) || sentinelOf(werr) != sentinelOf(berr) {
			t.Fatalf("byte at a time: whole %q %v, bytewise %q %v", whole, werr, bytewise, berr)
		}
		if werr != nil && sentinelOf(werr) == werr {
			t.Fatalf("error %v wraps no sentinel", werr)
		}
	})
}

// FuzzParseConnect checks that ParseConnect never panics and that what it accepts survives
// an encode/decode round trip.
func FuzzParseConnect(f *testing.F) {
	for _, s := range connectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, arg []byte) {
		opts, err := ParseConnect(arg)
		if err != nil {
			if !reflect.DeepEqual(opts, DefaultConnectOptions()) {
				t.Fatalf("error %v with non-default options %+v", err, opts)
			}
			return
		}
		b, err := json.Marshal(opts)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseConnect(b)
		if err != nil || again != opts {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", opts, b, again, err)
		}
	})
}

var connectSeeds = []string{
	`{}`,
	`null`,
	``,
	`{"verbose":false,"pedantic":false,"tls_required":false,"name":"app","lang":"go","version":"1.55.0","protocol":1,"echo":true,"headers":true,"no_responders":true}`,
	`{"echo":false,"user":"u","pass":"p"}`,
	`{"auth_token":"s3cret"}`,
	`{"nkey":"UABC","sig":"c2ln","jwt":"eyJ0"}`,
	`{"VERBOSE":false}`,
	`{"protocol":"1"}`,
	`{"verbose":false} x`,
	`[1,2]`,
}

// TestWriteFuzzSeeds regenerates testdata/fuzz from the golden table and connectSeeds when
// LEAFBOX_WRITE_SEEDS=1; otherwise it checks that the committed corpus is there.
func TestWriteFuzzSeeds(t *testing.T) {
	write := os.Getenv("LEAFBOX_WRITE_SEEDS") == "1"
	seeds := map[string][]string{}
	for i, c := range goldenCases {
		seeds["FuzzParse"] = append(seeds["FuzzParse"], fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint16(%d)\n", strconv.Quote(c.in), i%7+len(c.in)/2))
	}
	for _, s := range connectSeeds {
		seeds["FuzzParseConnect"] = append(seeds["FuzzParseConnect"], fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(s)))
	}
	for name, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if !write {
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) < len(files) {
				t.Errorf("%s: %d seeds committed, want %d (regenerate with LEAFBOX_WRITE_SEEDS=1): %v", dir, len(entries), len(files), err)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, content := range files {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("golden-%03d", i)), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
