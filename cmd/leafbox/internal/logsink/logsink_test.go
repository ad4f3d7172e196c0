package logsink

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTimeStamps(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want *regexp.Regexp
	}{
		{"local", Config{}, regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT[0-9:.]+([+-]\d\d:\d\d|Z) level=INFO msg=hello\n$`)},
		{"utc", Config{UTC: true}, regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT[0-9:.]+Z level=INFO msg=hello\n$`)},
		{"none", Config{NoTime: true}, regexp.MustCompile(`^level=INFO msg=hello\n$`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			log, c, err := Open(tc.cfg, &out)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			log.Info("hello")
			log.Debug("below the level")
			if !tc.want.Match(out.Bytes()) {
				t.Errorf("line %q does not match %s", out.String(), tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leafbox.log")
	log, c, err := Open(Config{File: path, SizeLimit: 200, MaxFiles: 3, NoTime: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := c.(*rotatingFile)
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	const lines = 40 // 26-byte lines, 7 to a 200-byte file: 5 rotations
	for i := range lines {
		log.Info("line", "n", 100+i) // "level=INFO msg=line n=1xx\n" is 26 bytes
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// Three files in all: the current one and the two newest backups.
	if len(names) != 3 || !slices.Contains(names, "leafbox.log") {
		t.Fatalf("files after rotation: %v, want leafbox.log and 2 backups", names)
	}
	var all []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 200 {
			t.Errorf("%s has %d bytes, past the 200-byte limit", n, len(b))
		}
		if n != "leafbox.log" && !regexp.MustCompile(`^leafbox\.log\.2026\.12\.02\.10\.00\.\d\d\.000000000$`).MatchString(n) {
			t.Errorf("backup name %q is not nats-server's FILE.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn", n)
		}
		all = append(all, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	// The newest lines survive, the last one in the current file.
	cur, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(cur), "n=139\n") {
		t.Errorf("current file ends %q, want the last line", cur)
	}
	if !slices.ContainsFunc(all, func(l string) bool { return strings.HasSuffix(l, "n=130") }) {
		t.Errorf("recent line n=130 missing from the kept files: %q", all)
	}
}

func TestRotationKeepsAllWithoutMax(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	log, c, err := Open(Config{File: path, SizeLimit: 64, NoTime: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := c.(*rotatingFile)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	for i := range 10 {
		log.Info("line", "n", 100+i) // 26 bytes: two lines a file
	}
	c.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		t.Errorf("%d files, want 5 (every backup kept)", len(entries))
	}
}

func TestRemoteSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	log, c, err := Open(Config{RemoteSyslog: "udp://" + pc.LocalAddr().String(), Level: slog.LevelDebug}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	log.Error("disk full", "dir", "/data")
	log.Warn("uplink down")
	log.Info("started")
	log.Debug("detail")
	buf := make([]byte, 2048)
	for _, want := range []string{
		`<27>`, // daemon.err
		`<28>`, // daemon.warning
		`<30>`, // daemon.info
		`<31>`, // daemon.debug
	} {
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, want) || !strings.Contains(msg, " leafbox[") {
			t.Errorf("datagram %q: want priority %s and tag leafbox", msg, want)
		}
		if strings.Contains(msg, "time=") {
			t.Errorf("datagram %q carries slog's time; syslog stamps it", msg)
		}
	}
}

func TestUnixSyslogAndUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	log, c, err := Open(Config{RemoteSyslog: "unixgram://" + sock}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("via socket", "k", "v")
	c.Close()
	buf := make([]byte, 1024)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), `msg="via socket" k=v`) {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, _, err := Open(Config{RemoteSyslog: "unixgram://" + sock + ".missing"}, nil); err == nil || !strings.Contains(err.Error(), "connect to syslog") {
		t.Errorf("missing socket: err %v, want a connect error", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{SizeLimit: 10}, "log_file, which is not set"},
		{Config{File: "x", Syslog: true}, "exclude each other"},
		{Config{RemoteSyslog: "http://x"}, "want udp://"},
		{Config{RemoteSyslog: "udp://"}, "no host"},
		{Config{File: "x", SizeLimit: -1}, "negative"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if err := (Config{File: "x", SizeLimit: 1 << 20, MaxFiles: 3}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
