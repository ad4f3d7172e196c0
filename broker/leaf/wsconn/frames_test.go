package wsconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// hubReport is what the fake hub saw from the client after its script.
type hubReport struct {
	pongs     []string
	closeCode int // -1: no close frame; 0: close without a status
	unmasked  bool
}

// frameCase is one server byte stream and what the client must make of it.
// The table doubles as the seed corpus of FuzzReadFrames.
type frameCase struct {
	name      string
	compress  bool
	maxFrame  int64
	script    []byte
	hangup    bool // close TCP right after the script
	wantData  string
	wantErr   error
	wantClose int
	wantPongs []string
}

var bigText = strings.Repeat("telemetry.site1.meter ", 5000) // 110 KB, compressible

func frameCases() []frameCase {
	closeOK := frame(0x88, closePayload(1000, "bye"))
	return []frameCase{
		{
			name:      "binary message then close",
			script:    cat(frame(0x82, []byte("INFO {}\r\n")), closeOK),
			wantData:  "INFO {}\r\n",
			wantErr:   io.EOF,
			wantClose: 1000,
		},
		{
			name:      "text and empty frames",
			script:    cat(frame(0x81, []byte("PING\r\n")), frame(0x82, nil), frame(0x81, []byte("PONG\r\n")), closeOK),
			wantData:  "PING\r\nPONG\r\n",
			wantErr:   io.EOF,
			wantClose: 1000,
		},
		{
			name:      "16 and 64 bit lengths",
			script:    cat(frame(0x82, []byte(strings.Repeat("a", 300))), frame(0x82, []byte(bigText)), closeOK),
			wantData:  strings.Repeat("a", 300) + bigText,
			wantErr:   io.EOF,
			wantClose: 1000,
		},
		{
			name: "fragmented message with interleaved ping and pong",
			script: cat(
				frame(0x02, []byte("MSG a 1 5\r\n")),
				frame(0x89, []byte("p1")),
				frame(0x00, []byte("hel")),
				frame(0x8A, []byte("ignored")),
				frame(0x89, nil),
				frame(0x80, []byte("lo\r\n")),
				closeOK),
			wantData:  "MSG a 1 5\r\nhello\r\n",
			wantErr:   io.EOF,
			wantClose: 1000,
			wantPongs: []string{"p1", ""},
		},
		{
			name:      "close without status",
			script:    cat(frame(0x82, []byte("x")), frame(0x88, nil)),
			wantData:  "x",
			wantErr:   io.EOF,
			wantClose: 0,
		},
		{
			name:      "close with going away",
			script:    frame(0x88, closePayload(1001, "shutdown")),
			wantErr:   io.EOF,
			wantClose: 1001,
		},
		{
			name:      "masked server frame",
			script:    cat(frame(0x82, []byte("ok")), maskedFrame(0x82, []byte("bad"))),
			wantData:  "ok",
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "frame over max size",
			maxFrame:  10,
			script:    frame(0x82, []byte("0123456789a")),
			wantErr:   ErrMessageTooBig,
			wantClose: 1009,
		},
		{
			name:      "64 bit length over default max",
			script:    []byte{0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0},
			wantErr:   ErrMessageTooBig,
			wantClose: 1009,
		},
		{
			name:      "64 bit length with top bit",
			script:    []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1},
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "RSV2 set",
			script:    frame(0xA2, []byte("x")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "RSV3 set",
			script:    frame(0x92, []byte("x")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "RSV1 without deflate",
			script:    frame(0xC2, deflated("x")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "control frame over 125 bytes",
			script:    frame(0x89, bytes.Repeat([]byte("p"), 126)),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "fragmented ping",
			script:    frame(0x09, []byte("p")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "continuation outside a message",
			script:    frame(0x80, []byte("x")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "new message inside a fragmented one",
			script:    cat(frame(0x02, []byte("a")), frame(0x82, []byte("b"))),
			wantData:  "a",
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "unknown data opcode",
			script:    frame(0x83, []byte("x")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "unknown control opcode",
			script:    frame(0x8B, nil),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "close with one byte",
			script:    frame(0x88, []byte{3}),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "close with reserved code",
			script:    frame(0x88, closePayload(1005, "")),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "close reason not utf8",
			script:    frame(0x88, closePayload(1000, "\xff\xfe")),
			wantErr:   ErrProtocol,
			wantClose: 1007,
		},
		{
			name:      "tcp closed inside a frame",
			script:    []byte{0x82, 5, 'a', 'b'},
			hangup:    true,
			wantData:  "ab",
			wantErr:   io.ErrUnexpectedEOF,
			wantClose: -1,
		},
		{
			name:      "tcp closed between frames",
			script:    frame(0x82, []byte("ab")),
			hangup:    true,
			wantData:  "ab",
			wantErr:   io.EOF,
			wantClose: -1,
		},
		{
			name:      "deflate message",
			compress:  true,
			script:    cat(frame(0xC2, deflated("PUB a 5\r\nhello\r\n")), closeOK),
			wantData:  "PUB a 5\r\nhello\r\n",
			wantErr:   io.EOF,
			wantClose: 1000,
		},
		{
			name:     "deflate mixed with plain messages",
			compress: true,
			script: cat(frame(0x82, []byte("plain1 ")), frame(0xC2, deflated(bigText)),
				frame(0x82, []byte(" plain2")), closeOK),
			wantData:  "plain1 " + bigText + " plain2",
			wantErr:   io.EOF,
			wantClose: 1000,
		},
		{
			name:     "deflate fragmented with interleaved ping",
			compress: true,
			script: func() []byte {
				d := deflated(bigText)
				return cat(frame(0x42, d[:10]), frame(0x89, []byte("mid")), frame(0x00, d[10:500]),
					frame(0x00, nil), frame(0x80, d[500:]), closeOK)
			}(),
			wantData:  bigText,
			wantErr:   io.EOF,
			wantClose: 1000,
			wantPongs: []string{"mid"},
		},
		{
			name:      "deflate with sender's final block",
			compress:  true,
			script:    cat(frame(0xC2, deflatedFinal("abc abc abc abc")), frame(0xC2, deflated("def")), closeOK),
			wantData:  "abc abc abc abcdef",
			wantErr:   io.EOF,
			wantClose: 1000,
		},
		{
			name:      "deflate RSV1 on continuation",
			compress:  true,
			script:    cat(frame(0x42, deflated("abc")[:2]), frame(0xC0, deflated("abc")[2:])),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "deflate RSV1 on control frame",
			compress:  true,
			script:    frame(0xC9, nil),
			wantErr:   ErrProtocol,
			wantClose: 1002,
		},
		{
			name:      "deflate corrupt data",
			compress:  true,
			script:    frame(0xC2, []byte{0xff, 0xff, 0xff, 0xff, 0xff}),
			wantErr:   ErrProtocol,
			wantClose: 1007,
		},
		{
			name:      "deflate inflates over max size",
			compress:  true,
			maxFrame:  1000,
			script:    frame(0xC2, deflated(strings.Repeat("z", 5000))),
			wantData:  strings.Repeat("z", 1000),
			wantErr:   ErrMessageTooBig,
			wantClose: 1009,
		},
		{
			name:      "close inside a compressed message",
			compress:  true,
			script:    cat(frame(0x42, deflated(bigText)[:20]), closeOK),
			wantErr:   io.EOF,
			wantClose: 1000,
		},
	}
}

func TestReadFrames(t *testing.T) {
	for _, tc := range frameCases() {
		t.Run(tc.name, func(t *testing.T) {
			reports := make(chan hubReport, 1)
			url := fakeHub(t, func(h *fakeHubConn) {
				ext := ""
				if tc.compress {
					ext = deflateAccept
				}
				h.accept(ext)
				h.nc.Write(tc.script)
				rep := hubReport{closeCode: -1}
				if tc.hangup {
					reports <- rep
					return
				}
				for {
					f, err := readClientFrame(h.br)
					if err != nil {
						break
					}
					rep.unmasked = rep.unmasked || !f.masked
					switch f.b0 & 0x0F {
					case opPong:
						rep.pongs = append(rep.pongs, string(f.payload))
					case opClose:
						rep.closeCode = 0
						if len(f.payload) >= 2 {
							rep.closeCode = int(binary.BigEndian.Uint16(f.payload))
						}
					}
					if rep.closeCode >= 0 {
						break
					}
				}
				reports <- rep
			})
			c, err := Dial(context.Background(), url, Options{Compression: tc.compress, MaxFrameSize: tc.maxFrame})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			data, err := readAll(c)
			if string(data) != tc.wantData {
				t.Errorf("data %q, want %q", trim(data), trim([]byte(tc.wantData)))
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			// The error is sticky.
			if _, err2 := c.Read(make([]byte, 1)); !errors.Is(err2, tc.wantErr) {
				t.Errorf("second Read error %v, want %v", err2, tc.wantErr)
			}
			if tc.wantErr != io.EOF && tc.wantErr != io.ErrUnexpectedEOF {
				if _, err := c.Write([]byte("x")); err == nil {
					t.Error("Write after a failed connection succeeded")
				}
			}
			var rep hubReport
			select {
			case rep = <-reports:
			case <-time.After(5 * time.Second):
				t.Fatal("no report from the hub")
			}
			if rep.closeCode != tc.wantClose {
				t.Errorf("client close code %d, want %d", rep.closeCode, tc.wantClose)
			}
			if strings.Join(rep.pongs, ",") != strings.Join(tc.wantPongs, ",") || len(rep.pongs) != len(tc.wantPongs) {
				t.Errorf("pongs %q, want %q", rep.pongs, tc.wantPongs)
			}
			if rep.unmasked {
				t.Error("client sent an unmasked frame")
			}
		})
	}
}

// trim shortens long data in failure messages.
func trim(b []byte) []byte {
	if len(b) > 80 {
		return append(b[:40:40], "..."...)
	}
	return b
}
