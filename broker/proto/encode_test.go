package proto

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendMsg(t *testing.T) {
	tests := []struct {
		subject, sid, reply, payload string
		want                         string
	}{
		{"foo", "1", "", "hello", "MSG foo 1 5\r\nhello\r\n"},
		{"foo.bar", "22", "_INBOX.x", "hi", "MSG foo.bar 22 _INBOX.x 2\r\nhi\r\n"},
		{"a", "9", "", "", "MSG a 9 0\r\n\r\n"},
		{"a", "9", "", "\r\n\x00", "MSG a 9 3\r\n\r\n\x00\r\n"},
	}
	for _, tt := range tests {
		got := AppendMsg([]byte("x"), []byte(tt.subject), []byte(tt.sid), []byte(tt.reply), []byte(tt.payload))
		if string(got) != "x"+tt.want {
			t.Errorf("AppendMsg = %q, want %q", got, "x"+tt.want)
		}
	}
}

func TestAppendHMsg(t *testing.T) {
	tests := []struct {
		subject, sid, reply string
		hdr                 int
		msg, want           string
	}{
		{"foo", "1", "", 12, hdr12 + "hi", "HMSG foo 1 12 14\r\n" + hdr12 + "hi\r\n"},
		{"foo", "1", "r", 12, hdr12, "HMSG foo 1 r 12 12\r\n" + hdr12 + "\r\n"},
	}
	for _, tt := range tests {
		got := AppendHMsg(nil, []byte(tt.subject), []byte(tt.sid), []byte(tt.reply), tt.hdr, []byte(tt.msg))
		if string(got) != tt.want {
			t.Errorf("AppendHMsg = %q, want %q", got, tt.want)
		}
	}
}

// TestEncodersRoundTrip turns what AppendMsg and AppendHMsg write into the PUB and HPUB a
// client would have sent (drop the sid, rename the verb) and checks the parser reads back the
// same subject, reply, header size and bytes.
func TestEncodersRoundTrip(t *testing.T) {
	toPub := func(enc []byte, verb string) []byte {
		f := strings.SplitN(string(enc), " ", 3) // verb, subject, "sid rest"
		return []byte(verb + " " + f[1] + " " + strings.SplitN(f[2], " ", 2)[1])
	}
	msg := AppendMsg(nil, []byte("foo"), []byte("1"), []byte("r"), []byte("a\r\nb"))
	hmsg := AppendHMsg(nil, []byte("foo"), []byte("1"), nil, 12, []byte(hdr12+"xy"))
	var p Parser
	r := &recorder{}
	if err := p.Parse(append(toPub(msg, "PUB"), toPub(hmsg, "HPUB")...), r); err != nil {
		t.Fatal(err)
	}
	want := []string{`PUB "foo" "r" "a\r\nb"`, `HPUB "foo" "" 12 "NATS/1.0\r\n\r\nxy"`}
	if strings.Join(r.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", r.calls, want)
	}
}

func TestAppendErrAndConsts(t *testing.T) {
	if got := string(AppendErr(nil, "Unknown Protocol Operation")); got != "-ERR 'Unknown Protocol Operation'\r\n" {
		t.Errorf("AppendErr = %q", got)
	}
	if ProtoPing != "PING\r\n" || ProtoPong != "PONG\r\n" || ProtoOK != "+OK\r\n" {
		t.Error("protocol constants changed")
	}
}

func TestAppendInfo(t *testing.T) {
	info := &Info{ID: "NABC", Name: "gw1", Version: "0.1.0", Proto: 1, GoVersion: "go1.26", Host: "0.0.0.0", Port: 4222, Headers: true, MaxPayload: 1 << 20, CID: 7, ClientIP: "127.0.0.1"}
	got, err := AppendInfo([]byte("x"), info)
	if err != nil {
		t.Fatal(err)
	}
	want := `xINFO {"server_id":"NABC","server_name":"gw1","version":"0.1.0","proto":1,"go":"go1.26","host":"0.0.0.0","port":4222,"headers":true,"max_payload":1048576,"client_id":7,"client_ip":"127.0.0.1"}` + "\r\n"
	if string(got) != want {
		t.Errorf("AppendInfo =\n%s\nwant\n%s", got, want)
	}
	// Fields nats-server always sends are present even when zero.
	got, _ = AppendInfo(nil, &Info{})
	for _, k := range []string{`"server_id"`, `"server_name"`, `"version"`, `"proto"`, `"go"`, `"host"`, `"port"`, `"headers"`, `"max_payload"`} {
		if !strings.Contains(string(got), k) {
			t.Errorf("zero Info lacks %s: %s", k, got)
		}
	}
	if strings.Contains(string(got), `"auth_required"`) || strings.Contains(string(got), `"nonce"`) {
		t.Errorf("zero Info has omitempty fields: %s", got)
	}
}

func TestParseConnect(t *testing.T) {
	tests := []struct {
		name    string
		arg     string
		want    ConnectOptions
		wantErr bool
	}{
		{"defaults", `{}`, ConnectOptions{Verbose: true, Pedantic: true, Echo: true}, false},
		{"nats.go", `{"verbose":false,"pedantic":false,"tls_required":false,"name":"app","lang":"go","version":"1.55.0","protocol":1,"echo":true,"headers":true,"no_responders":true}`,
			ConnectOptions{Echo: true, Name: "app", Lang: "go", Version: "1.55.0", Protocol: 1, Headers: true, NoResponders: true}, false},
		{"no echo and creds", `{"echo":false,"verbose":false,"pedantic":false,"user":"u","pass":"p","auth_token":"t","nkey":"UA","sig":"s","jwt":"j"}`,
			ConnectOptions{Username: "u", Password: "p", Token: "t", Nkey: "UA", Sig: "s", JWT: "j"}, false},
		{"keys case-insensitive", `{"VERBOSE":false,"Echo":false}`, ConnectOptions{Pedantic: true}, false},
		{"unknown keys ignored", `{"foo":1,"verbose":false}`, ConnectOptions{Pedantic: true, Echo: true}, false},
		{"empty", ``, DefaultConnectOptions(), true},
		{"wrong type", `{"protocol":"1"}`, DefaultConnectOptions(), true},
		{"trailing junk", `{} x`, DefaultConnectOptions(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnect([]byte(tt.arg))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseConnect = %+v, %v; want %+v, err %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !Closes(err) {
				t.Fatalf("error %v must close", err)
			}
		})
	}
	// The field names are nats-server's.
	b, _ := json.Marshal(ConnectOptions{Token: "t", Username: "u", Password: "p", NoResponders: true, Headers: true})
	for _, k := range []string{`"auth_token"`, `"user"`, `"pass"`, `"no_responders"`, `"headers"`, `"echo"`, `"protocol"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("marshalled CONNECT lacks %s: %s", k, b)
		}
	}
}

func TestAppendHMsgSplitMatchesAppendHMsg(t *testing.T) {
	hdr := []byte("NATS/1.0\r\nA: b\r\n\r\n")
	payload := []byte("hello")
	msg := append(append([]byte(nil), hdr...), payload...)
	for _, reply := range [][]byte{nil, []byte("_INBOX.x")} {
		want := AppendHMsg(nil, []byte("foo.bar"), []byte("7"), reply, len(hdr), msg)
		got := AppendHMsgSplit(nil, []byte("foo.bar"), []byte("7"), reply, hdr, payload)
		if string(got) != string(want) {
			t.Errorf("reply %q: got %q, want %q", reply, got, want)
		}
	}
}
