package mqtt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodePacket checks the decoder never panics, never reads past the
// packet it reports, and that whatever decodes re-decodes the same from
// any split point. Seeds: the golden table (testdata/fuzz holds a copy).
func FuzzDecodePacket(f *testing.F) {
	for _, g := range goldenPackets {
		f.Add(g.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p packet
		n, err := decodePacket(b, &p, goldenMax)
		if err != nil {
			if !errors.Is(err, errNeedMore) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPacketTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		for cut := 0; cut < n; cut++ {
			if _, err := decodePacket(b[:cut], &p, goldenMax); !errors.Is(err, errNeedMore) {
				t.Fatalf("prefix %d: %v", cut, err)
			}
		}
		if p.typ == typeSubscribe || p.typ == typeUnsubscribe {
			for rest := p.filters; len(rest) > 0; {
				_, _, rest = nextFilter(rest, p.typ == typeSubscribe)
			}
		}
	})
}

func FuzzTopicMapping(f *testing.F) {
	for _, s := range []string{"a/b", "/a", "a//b", "a.b", "a/", "+/#", "$SYS/x", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		subj, err := appendSubject(nil, []byte(topic), false)
		if err != nil {
			return
		}
		if got := string(appendTopic(nil, subj)); got != topic {
			t.Fatalf("%q → %q → %q", topic, subj, got)
		}
		if topicLen(subj) != len(topic) {
			t.Fatalf("topicLen(%q) = %d, want %d", subj, topicLen(subj), len(topic))
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzDecodePacket from the
// golden table when MQTT_WRITE_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("MQTT_WRITE_CORPUS") == "" {
		t.Skip("set MQTT_WRITE_CORPUS=1 to regenerate the committed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodePacket")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, g := range goldenPackets {
		name := "seed-" + strings.NewReplacer(" ", "_", "/", "_", ".", "_").Replace(g.name)
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", g.wire)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
