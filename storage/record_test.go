package storage

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// recordCases is the golden table of records: used by the round-trip test
// and as fuzz seeds.
var recordCases = []Record{
	{Subject: []byte("a"), Published: time.Unix(0, 1)},
	{Subject: []byte("telemetry.meter1"), Payload: []byte("21.5"), Published: time.Unix(1700000000, 5)},
	{Subject: []byte("t.x"), Reply: []byte("_INBOX.abc.1"), Payload: bytes.Repeat([]byte{0xff}, 300), Published: time.Unix(1, 0)},
	{Subject: []byte("t.h"), Header: []byte("NATS/1.0\r\nNats-Msg-Id: 1\r\n\r\n"), Payload: []byte{0}, Published: time.Unix(2, 0)},
	{Subject: []byte("t.all"), Reply: []byte("r"), Header: []byte("NATS/1.0\r\n\r\n"), Payload: []byte("p"), Published: time.Unix(-5, 0)},
}

func TestRecordRoundTrip(t *testing.T) {
	for i, in := range recordCases {
		b := appendRecord(nil, &in, 0)
		if len(b) != encodedSize(&in) {
			t.Errorf("case %d: encoded %d bytes, encodedSize says %d", i, len(b), encodedSize(&in))
		}
		var out Record
		if err := decodeRecord(b, &out); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !bytes.Equal(out.Subject, in.Subject) || !bytes.Equal(out.Reply, in.Reply) || !bytes.Equal(out.Header, in.Header) ||
			!bytes.Equal(out.Payload, in.Payload) || !out.Published.Equal(in.Published) {
			t.Errorf("case %d: got %+v want %+v", i, out, in)
		}
		// Every strict prefix that cuts a length-prefixed field must fail;
		// cutting into the payload is allowed only past the last field.
		for cut := range len(b) - len(in.Payload) {
			if err := decodeRecord(b[:cut], &out); err == nil {
				t.Errorf("case %d: prefix of %d bytes decoded", i, cut)
			}
		}
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	valid := appendRecord(nil, &recordCases[1], 0)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", valid[:5]},
		{"bad version", append([]byte{0x20}, valid[1:]...)},
		{"unknown flag", append([]byte{0x14}, valid[1:]...)},
		{"empty subject", append(append([]byte{0x10}, valid[1:9]...), 0)},
		{"subject too long", append(append([]byte{0x10}, valid[1:9]...), 50, 'a')},
		{"reply flag without reply", append(append([]byte{0x12}, valid[1:9]...), 1, 'a')},
		{"huge varint", append(append([]byte{0x10}, valid[1:9]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1)},
	}
	for _, tc := range tests {
		var r Record
		if err := decodeRecord(tc.b, &r); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestRecordEncodeNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 1024)
	r := recordCases[3]
	var out Record
	allocs := testing.AllocsPerRun(100, func() {
		buf = appendRecord(buf[:0], &r, 1)
		if err := decodeRecord(buf, &out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("encode+decode allocates %.1f times", allocs)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range recordCases {
		f.Add(appendRecord(nil, &r, 0))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := decodeRecord(b, &r); err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		again := appendRecord(nil, &r, 0)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, again)
		}
	})
}
