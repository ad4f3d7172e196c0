// Command storestart measures how long leafbox takes to start with a big
// store (scripts/bench-store-start.sh): it fills a store directory to a
// given size with queued records, then starts a leafbox binary on it
// several times and reports, per start, the milliseconds from just before
// exec to the "leafbox started" log line and to the first INFO greeting
// on the client port. The store lives in a fresh directory under TMPDIR
// that is removed at the end; with -dir the given directory is used and kept,
// and a store already in it is not filled again.
//
//	storestart -leafbox ./leafbox [-size 1073741824] [-payload 128] [-rounds 3] [-dir DIR]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/leafbox/leafbox/storage"
)

func main() {
	bin := flag.String("leafbox", "", "leafbox binary to start (required)")
	size := flag.Int64("size", 1<<30, "store file size to fill to, in bytes")
	payload := flag.Int("payload", 128, "payload bytes per queued record")
	rounds := flag.Int("rounds", 3, "starts to time")
	keep := flag.String("dir", "", "use (and keep) this directory; fill its store only if it has none")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "storestart: -leafbox is required")
		os.Exit(2)
	}
	if err := run(*bin, *size, *payload, *rounds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "storestart:", err)
		os.Exit(1)
	}
}

func run(bin string, size int64, payload, rounds int, keep string) error {
	dir := keep
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "leafbox-storestart-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	storeDir := filepath.Join(dir, "store")
	if _, err := os.Stat(filepath.Join(storeDir, storage.FileName)); err != nil {
		start := time.Now()
		msgs, err := fill(storeDir, size, payload)
		if err != nil {
			return err
		}
		fmt.Printf("# filled %d records of %d B payload in %v\n", msgs, payload, time.Since(start).Round(time.Second))
	}
	fi, err := os.Stat(filepath.Join(storeDir, storage.FileName))
	if err != nil {
		return err
	}
	fmt.Printf("# store: %d MiB\n", fi.Size()>>20)
	fmt.Println("| start | exec → \"leafbox started\" (ms) | exec → first INFO (ms) | exec → background verification done (ms) |")
	fmt.Println("|---|---:|---:|---:|")
	for i := range rounds {
		logged, info, verified, err := startOnce(bin, dir, storeDir)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		v := "-"
		if verified > 0 {
			v = fmt.Sprintf("%.0f", ms(verified))
		}
		fmt.Printf("| %d | %.0f | %.0f | %s |\n", i+1, ms(logged), ms(info), v)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fill appends records of payload bytes until the store file is at least
// size bytes, and returns how many it appended.
func fill(dir string, size int64, payload int) (int64, error) {
	s, _, err := storage.Open(storage.Config{Dir: dir, BatchSize: 4096,
		Forward: []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}}}}, nil)
	if err != nil {
		return 0, err
	}
	q := s.Queue("TELEMETRY")
	rec := &storage.Record{Subject: []byte("telemetry.fill"), Payload: make([]byte, payload)}
	var n int64
	for {
		for range 20000 {
			rec.Published = time.Now()
			q.AppendAsync(rec, nil)
			n++
		}
		if err := s.Sync(); err != nil {
			_ = s.Close()
			return n, err
		}
		if s.Stats().FileSize >= size {
			break
		}
	}
	return n, s.Close()
}

// startOnce starts leafbox on the store and times it; it stops leafbox
// (SIGTERM) once the store's background verification is done (its marker
// file is gone), so that the next start finds a verified file, as a
// daemon that ran for a while leaves it.
func startOnce(bin, dir, storeDir string) (logged, info, verified time.Duration, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	conf := filepath.Join(dir, "leafbox.conf")
	cfg := fmt.Sprintf("listen: %q\nstore { dir: %q, forward: [ { subjects: [\"telemetry.>\"] } ] }\n", addr, storeDir)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return 0, 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	started := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `msg="leafbox started"`) {
				started <- time.Since(t0)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	for {
		if ctx.Err() != nil {
			return 0, 0, 0, fmt.Errorf("no INFO on %s", addr)
		}
		if greeted(addr) {
			info = time.Since(t0)
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case logged = <-started:
	case <-ctx.Done():
		return 0, 0, 0, fmt.Errorf("no \"leafbox started\" line")
	}
	marker := filepath.Join(storeDir, storage.FileName+".verify")
	if _, err := os.Stat(marker); err == nil {
		for ctx.Err() == nil {
			if _, err := os.Stat(marker); err != nil {
				verified = time.Since(t0)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return logged, info, verified, nil
}

// greeted reports whether a connection to addr is greeted with INFO.
func greeted(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [4]byte
	_, err = io.ReadFull(c, b[:])
	return err == nil && string(b[:]) == "INFO"
}
