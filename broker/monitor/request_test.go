package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// requestCases is the golden table of request heads: unit tests check it,
// and FuzzParseRequest starts from it.
var requestCases = []struct {
	name    string
	head    string
	want    request
	wantErr error
}{
	{"prometheus scrape", "GET /metrics HTTP/1.1\r\nHost: gw:8222\r\nUser-Agent: Prometheus/3.0.0\r\nAccept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
		request{method: "GET", path: "/metrics", minor: 1}, nil},
	{"curl", "GET /connz?subs=1&sort=msgs_to HTTP/1.1\r\nHost: 127.0.0.1:8222\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
		request{method: "GET", path: "/connz", rawQuery: "subs=1&sort=msgs_to", minor: 1}, nil},
	{"http/1.0", "GET /varz HTTP/1.0\r\n\r\n", request{method: "GET", path: "/varz", close: true}, nil},
	{"http/1.0 keep-alive not offered", "GET /varz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		request{method: "GET", path: "/varz", close: true}, nil},
	{"head", "HEAD / HTTP/1.1\r\nhost: x\r\n\r\n", request{method: "HEAD", path: "/", minor: 1}, nil},
	{"other method kept", "DELETE /varz HTTP/1.1\r\nHost: x\r\n\r\n", request{method: "DELETE", path: "/varz", minor: 1}, nil},
	{"connection close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade ,\tCLOSE\r\n\r\n",
		request{method: "GET", path: "/", minor: 1, close: true}, nil},
	{"close in a second header", "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
		request{method: "GET", path: "/", minor: 1, close: true}, nil},
	{"closed is not close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n",
		request{method: "GET", path: "/", minor: 1}, nil},
	{"content length", "POST /varz HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n",
		request{method: "POST", path: "/varz", minor: 1, bodyLen: 12}, nil},
	{"bare lf", "GET /varz HTTP/1.1\nHost: x\n\n", request{method: "GET", path: "/varz", minor: 1}, nil},
	{"leading crlf", "\r\n\nGET /varz HTTP/1.1\r\nHost: x\r\n\r\n", request{method: "GET", path: "/varz", minor: 1}, nil},
	{"ows around value", "GET / HTTP/1.1\r\nHost:\t x \t\r\nX-Empty:\r\n\r\n", request{method: "GET", path: "/", minor: 1}, nil},
	{"obs-text value", "GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n", request{method: "GET", path: "/", minor: 1}, nil},
	{"escaped path", "GET /a%2Fb%20c?x=%20 HTTP/1.1\r\nHost: x\r\n\r\n",
		request{method: "GET", path: "/a/b c", rawQuery: "x=%20", minor: 1}, nil},
	{"empty query", "GET /varz? HTTP/1.1\r\nHost: x\r\n\r\n", request{method: "GET", path: "/varz", minor: 1}, nil},
	{"absolute form", "GET HTTP://gw:8222/subsz?subs=1 HTTP/1.1\r\nHost: gw\r\n\r\n",
		request{method: "GET", path: "/subsz", rawQuery: "subs=1", minor: 1}, nil},
	{"absolute form no path", "GET https://gw?x=1 HTTP/1.1\r\nHost: gw\r\n\r\n",
		request{method: "GET", path: "/", rawQuery: "x=1", minor: 1}, nil},

	{"blank request line", " \r\n\r\n", request{}, errMalformed},
	{"no target", "GET HTTP/1.1\r\n\r\n", request{}, errMalformed},
	{"no version", "GET /varz\r\n\r\n", request{}, errMalformed},
	{"empty method", " /varz HTTP/1.1\r\n\r\n", request{}, errMalformed},
	{"method not a token", "G(T /varz HTTP/1.1\r\n\r\n", request{}, errMalformed},
	{"tab separator", "GET\t/varz HTTP/1.1\r\n\r\n", request{}, errMalformed},
	{"version junk", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"version letters", "GET / HTTP/a.b\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"http/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", request{}, errVersion},
	{"http/1.9", "GET / HTTP/1.9\r\nHost: x\r\n\r\n", request{}, errVersion},
	{"http/0.9 version", "GET / HTTP/0.9\r\n\r\n", request{}, errVersion},
	{"relative target", "GET varz HTTP/1.1\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"other scheme", "GET ftp://x/varz HTTP/1.1\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"control in target", "GET /va\x01rz HTTP/1.1\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"bad escape", "GET /%g0 HTTP/1.1\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"truncated escape", "GET /%2 HTTP/1.1\r\nHost: x\r\n\r\n", request{}, errMalformed},
	{"missing host", "GET / HTTP/1.1\r\n\r\n", request{}, errMalformed},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", request{}, errMalformed},
	{"empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", request{}, errMalformed},
	{"space in name", "GET / HTTP/1.1\r\nHost: x\r\nX A: v\r\n\r\n", request{}, errMalformed},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\n\tmore\r\n\r\n", request{}, errMalformed},
	{"bare cr in value", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", request{}, errMalformed},
	{"del in value", "GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n", request{}, errMalformed},
	{"chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", request{}, errMalformed},
	{"length sign", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", request{}, errMalformed},
	{"length list", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n", request{}, errMalformed},
	{"length empty", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", request{}, errMalformed},
	{"length overflow", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", request{}, errMalformed},
	{"lengths differ", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", request{}, errMalformed},
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			end := headEnd([]byte(tc.head))
			if end != len(tc.head) {
				t.Fatalf("headEnd = %d, want %d", end, len(tc.head))
			}
			got, err := parseRequest([]byte(tc.head))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// headEnd finds nothing in any proper prefix of a head, and the same end
// once the head is complete, whatever follows it.
func TestHeadEndPrefixes(t *testing.T) {
	for _, tc := range requestCases {
		head := []byte(tc.head)
		for i := range len(head) {
			if got := headEnd(head[:i]); got != -1 {
				t.Fatalf("%s: headEnd(first %d bytes) = %d, want -1", tc.name, i, got)
			}
		}
		if got := headEnd(append(head[:len(head):len(head)], "GET / HTTP/1.1\r\n\r\n"...)); got != len(head) {
			t.Errorf("%s: headEnd with a pipelined request = %d, want %d", tc.name, got, len(head))
		}
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{errMalformed, 400},
		{errHeadTooLarge, 431},
		{errVersion, 505},
		{errBodyTooLarge, 413},
	}
	for _, tc := range tests {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
		if strings.Contains(reason(tc.err), "monitor:") {
			t.Errorf("reason(%v) keeps the Go prefix", tc.err)
		}
	}
}

// A scrape costs one allocation in the parser: the path string.
func TestParseRequestAllocs(t *testing.T) {
	head := []byte(requestCases[0].head)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := parseRequest(head); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("parseRequest allocates %v times per scrape, want at most 1", allocs)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	head := []byte(requestCases[0].head)
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseRequest(head); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseRequest checks the parser's invariants on any input and, for
// heads it accepts, that net/http reads the same request: the monitor may
// be stricter than net/http, never looser or different.
func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add([]byte(tc.head))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := headEnd(data)
		if end < 0 {
			return
		}
		if end > len(data) || headEnd(data[:end]) != end || headEnd(data[:end-1]) != -1 {
			t.Fatalf("headEnd = %d is not the end of the first head", end)
		}
		head := data[:end]
		req, err := parseRequest(head)
		if err != nil {
			if statusOf(err) == statusOK || reason(err) == "" {
				t.Fatalf("error %v has no status or reason", err)
			}
			return
		}
		switch {
		case !isToken([]byte(req.method)):
			t.Fatalf("method %q is not a token", req.method)
		case !strings.HasPrefix(req.path, "/"):
			t.Fatalf("path %q does not start with /", req.path)
		case req.minor != 0 && req.minor != 1:
			t.Fatalf("minor version %d", req.minor)
		case req.minor == 0 && !req.close:
			t.Fatal("HTTP/1.0 request kept alive")
		case req.bodyLen < 0:
			t.Fatalf("body length %d", req.bodyLen)
		}

		// net/http does not skip empty lines before the request line,
		// and validates an absolute-form authority we ignore.
		trimmed := bytes.TrimLeft(head, "\r\n")
		if _, target, _ := strings.Cut(string(trimmed), " "); !strings.HasPrefix(target, "/") {
			return
		}
		std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(trimmed)))
		if err != nil {
			t.Fatalf("net/http rejects a head we accept: %v\n%q", err, head)
		}
		if std.Method != req.method || std.URL.Path != req.path || std.URL.RawQuery != req.rawQuery ||
			std.ProtoMinor != req.minor || std.ContentLength != req.bodyLen ||
			(req.minor == 1 && std.Close != req.close) {
			t.Fatalf("net/http reads %s %q ?%q 1.%d len %d close %v; we read %+v\n%q",
				std.Method, std.URL.Path, std.URL.RawQuery, std.ProtoMinor, std.ContentLength, std.Close, req, head)
		}
	})
}
