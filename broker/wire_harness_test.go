package broker_test

import (
	"strings"
	"testing"
)

// The wire harness must be able to fail: these tests pin that it notices
// wrong frames, missing closes and data on any watched connection.

func TestFrameLen(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"PONG", 0},
		{"PONG\r\n", 6},
		{"PONG\r\nPING\r\n", 6},
		{"MSG a 1 3\r\nab", 0},
		{"MSG a 1 3\r\nabc\r", 0},
		{"MSG a 1 3\r\nabc\r\n", 16},
		{"MSG a 1 r 0\r\n\r\nPONG\r\n", 15},
		{"HMSG a 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", 32},
		{"MSG a 1 x\r\n", 11}, // malformed: handed over as a line
	}
	for _, tt := range tests {
		if got := frameLen([]byte(tt.in)); got != tt.want {
			t.Errorf("frameLen(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeInfo(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`INFO {"server_id":"X","headers":true,"max_payload":1024,"proto":1,"client_id":5}` + "\r\n",
			"INFO headers=true max_payload=1024 proto=1 auth_required=false tls_required=false nonce=false client_id=true"},
		{`INFO {"auth_required":true,"nonce":"abc","max_payload":1,"proto":1}` + "\r\n",
			"INFO headers=false max_payload=1 proto=1 auth_required=true tls_required=false nonce=true client_id=false"},
		{`INFO {"server_id":"X","headers":true,"max_payload":1,"proto":1,"client_id":5,"client_ip":"127.0.0.1","ldm":true}` + "\r\n",
			"INFO headers=true max_payload=1 proto=1 auth_required=false tls_required=false nonce=false client_id=true ldm=true client_ip=true connect_urls=false"},
		{"INFO {bad\r\n", "INFO (bad json: invalid character 'b' looking for beginning of object key string)"},
	}
	for _, tt := range tests {
		if got := normalizeInfo(tt.in); got != tt.want {
			t.Errorf("normalizeInfo(%q) =\n %q, want\n %q", tt.in, got, tt.want)
		}
	}
}

func TestDiffTranscripts(t *testing.T) {
	if d := diffTranscripts([]string{"a", "b"}, []string{"a", "b"}); d != "" {
		t.Errorf("equal transcripts differ: %s", d)
	}
	for _, got := range [][]string{{"a"}, {"a", "c"}, {"a", "b", "c"}} {
		if d := diffTranscripts([]string{"a", "b"}, got); d == "" {
			t.Errorf("transcript %q reported equal to [a b]", got)
		}
	}
}

// TestRunnerDetectsMismatch runs wrong scripts against nats-server: each must fail.
func TestRunnerDetectsMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
	}{
		{"wrong frame", []step{dialc(1), send(1, "PING\r\n"), expect(1, "+OK\r\n")}},
		{"missing frame", []step{dialc(1), send(1, "SUB a 1\r\n"), expect(1, "PONG\r\n")}},
		{"not closed", []step{dialc(1), send(1, "PING\r\n"), closed(1)}},
		{"closed but expected frame", []step{dialc(1), send(1, "FOO\r\n"), expect(1, errLine("Unknown Protocol Operation"), "PONG\r\n")}},
		{"not quiet on first conn", []step{dialc(1), dialc(2), send(1, "PING\r\n"), quiet(1, 2)}},
		// A frame on the second watched connection must be seen too.
		{"not quiet on second conn", []step{dialc(1), dialc(2), send(2, "SUB a 1\r\n"), syncc(2),
			send(1, pub("a", "", "x")), syncc(1), quiet(1, 2)}},
		{"spread short", []step{dialc(1), send(1, "SUB a 1\r\n"+pub("a", "", "x")), spread(2, msg("a", "1", "", "x"), 1)}},
		{"spread too many", []step{dialc(1), send(1, "SUB a 1\r\n"+pub("a", "", "x")+pub("a", "", "x")), spread(1, msg("a", "1", "", "x"), 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// One server per case: parallel cases publishing on the same
			// subjects would otherwise see each other's messages.
			log, err := runAgainst(startNATS(t, wireOpts{}), session{steps: tt.steps}, false)
			if err == nil {
				t.Fatalf("script passed, want failure; transcript:\n  %s", strings.Join(log, "\n  "))
			}
		})
	}
}
