package qemu_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/internal/testenv"
	"github.com/leafbox/leafbox/internal/testutil"
)

const (
	// ubootBin is where Debian's u-boot-qemu puts the qemu_arm64 build.
	ubootBin = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
	// envOffset and envSize place the U-Boot environment: partition 2,
	// which qemu-image.sh starts at 17 MiB.
	envOffset = 17 << 20
	envSize   = 0x4000
	// bootTimeout bounds one boot, U-Boot to leafbox. Under software
	// emulation it takes about 10 s on an idle machine.
	bootTimeout = 3 * time.Minute
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requireTools skips the test when QEMU itself is missing, and fails it
// when QEMU is there but a tool the image build needs is not: then the
// machine was set up by hand and `scripts/deps.sh test` was skipped.
// With LEAFBOX_REQUIRE_INTEGRATION=1 (CI) a missing QEMU fails the test
// too (testenv.NeedTool), so that a broken setup cannot pass as a skip.
func requireTools(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots an emulated board (minutes); not in -short mode")
	}
	testenv.NeedTool(t, "qemu-system-aarch64", "scripts/deps.sh test installs it")
	var missing []string
	for _, tool := range []string{"apt-get", "dpkg-deb", "readelf", "mke2fs", "mkfs.vfat", "mcopy", "sfdisk", "mkimage", "mkenvimage", "cpio", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat(ubootBin); err != nil {
		missing = append(missing, ubootBin)
	}
	if len(missing) > 0 {
		t.Fatalf("qemu is installed but the image build needs %s: run bash scripts/deps.sh test", strings.Join(missing, ", "))
	}
}

// run runs a command in the repository, failing the test with its output.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildLeafbox cross-compiles the daemon for the board, version stamped
// as `make cross` does.
func buildLeafbox(t testing.TB, dir, version string) string {
	t.Helper()
	bin := filepath.Join(dir, "leafbox-"+version)
	run(t, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", bin, "./cmd/leafbox")
	return bin
}

// buildImage assembles the emulated board into dir.
func buildImage(t testing.TB, dir, bin, version string, env []string) {
	t.Helper()
	run(t, env, "bash", "scripts/image/qemu-image.sh", "-b", bin, "-v", version, dir)
}

// copyFile copies src to dst.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// board is one running emulated gateway.
type board struct {
	t    testing.TB
	disk string
	port int // host loopback port forwarded to the board's 4222
	qemu *exec.Cmd
	// stdin is the console's input: the guest's shell (see shell).
	stdin    io.WriteCloser
	shellSeq int
	// serialSock is the host side of the emulated FTDI adapter (a unix
	// socket QEMU listens on: connecting plugs the cable in, see
	// usbserial_test.go); qmpSock is QEMU's QMP socket.
	serialSock, qmpSock string

	mu      sync.Mutex
	console bytes.Buffer
	cursor  int // waitConsole searches from here
	done    chan struct{}
}

// bootBoard starts QEMU on disk: U-Boot as firmware, the disk on
// virtio-blk, user networking with only the NATS port forwarded to
// 127.0.0.1:port, and an i6300esb hardware watchdog whose expiry resets
// the board (-action watchdog=reset: QEMU's default, stated because the
// watchdog tests depend on it). QEMU is killed when the test ends; the
// console is logged when the test failed. The console's input is a pipe
// to the guest's root shell (board.shell).
//
// The disk's cache mode is writeback, stated rather than defaulted,
// because powerCut depends on it. The guest sees a disk with a volatile
// write cache and sends a flush for every fsync, as on an SD card. What
// dies with a SIGKILL of QEMU is the guest's RAM: its page cache, with
// every dirty page that no fsync or writeback had sent to the disk yet.
// What the guest had sent survives: QEMU has written it into the host
// file, and the next QEMU reads the same file through the same host page
// cache. The host keeps its power, so no cache mode changes what the next
// boot reads (none or directsync only reach the host's own disk sooner,
// and need O_DIRECT from the file system under TMPDIR). So a cut loses
// exactly what the guest had not written out: it catches an ack sent
// before fsync, not a card that drops writes it was sent but not told to
// flush.
func bootBoard(t testing.TB, disk, consoleLog string, port int) *board {
	t.Helper()
	b := &board{t: t, disk: disk, port: port, done: make(chan struct{})}
	// Unix socket paths are short (108 bytes): not under t.TempDir.
	sockDir, err := os.MkdirTemp("", "lbq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	b.serialSock, b.qmpSock = filepath.Join(sockDir, "ftdi"), filepath.Join(sockDir, "qmp")
	cmd := testutil.DieWithTest(exec.Command("qemu-system-aarch64",
		"-M", "virt", "-cpu", "cortex-a57", "-m", "512", "-smp", "1",
		"-nographic", "-no-user-config", "-nodefaults", "-serial", "stdio", "-monitor", "none",
		"-bios", ubootBin,
		"-drive", "if=none,format=raw,id=hd0,cache=writeback,file="+disk,
		"-device", "virtio-blk-device,drive=hd0",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:4222", port),
		"-device", "virtio-net-device,netdev=n0",
		"-device", "i6300esb", "-action", "watchdog=reset",
		"-device", "qemu-xhci,id=xhci",
		"-chardev", "socket,id=ftdi,server=on,wait=off,path="+b.serialSock,
		"-device", usbSerialDevice,
		"-qmp", "unix:"+b.qmpSock+",server=on,wait=off",
	))
	logf, err := os.Create(consoleLog)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if b.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	b.qemu = cmd
	go func() {
		defer close(b.done)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if len(line) > 0 {
				line = strings.ReplaceAll(line, "\r", "")
				logf.WriteString(line)
				b.mu.Lock()
				b.console.WriteString(line)
				b.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-b.done
		logf.Close()
		if t.Failed() {
			t.Logf("console (last 80 lines; all of it in %s):\n%s", consoleLog, b.tail(80))
		}
	})
	return b
}

// powerCut kills QEMU with SIGKILL and waits until it is gone: the
// board loses power. Its disk keeps what the guest had written to it and
// nothing else (see bootBoard).
func (b *board) powerCut() {
	b.t.Helper()
	if err := b.qemu.Process.Kill(); err != nil {
		b.t.Fatalf("kill qemu: %v", err)
	}
	<-b.done
}

// tail returns the last n console lines, leaving out the uplink's
// reconnect warnings (the hub is away for most of the test).
func (b *board) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for l := range strings.SplitSeq(b.console.String(), "\n") {
		if !strings.Contains(l, `msg="leafnode connection lost"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitConsole waits until the console, after the previous match, prints a
// line matching pattern, and returns the submatches. Patterns are waited
// for in the order the board prints them.
func (b *board) waitConsole(pattern string, timeout time.Duration) []string {
	b.t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(timeout)
	for {
		b.mu.Lock()
		text := b.console.String()[b.cursor:]
		if loc := re.FindStringSubmatchIndex(text); loc != nil {
			m := make([]string, 0, len(loc)/2)
			for i := 0; i < len(loc); i += 2 {
				if loc[i] < 0 {
					m = append(m, "")
					continue
				}
				m = append(m, text[loc[i]:loc[i+1]])
			}
			b.cursor += loc[1]
			b.mu.Unlock()
			return m
		}
		b.mu.Unlock()
		select {
		case <-b.done:
			b.t.Fatalf("qemu exited while waiting for %q", pattern)
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("console did not show %q within %v", pattern, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitConsoleAny waits for the first of several patterns (an outcome and
// its failure, say) and returns which one matched and its submatches.
func (b *board) waitConsoleAny(timeout time.Duration, patterns ...string) (int, []string) {
	b.t.Helper()
	alt := make([]string, len(patterns))
	for i, p := range patterns {
		alt[i] = "(" + p + ")"
	}
	m := b.waitConsole(strings.Join(alt, "|"), timeout)
	// Group i+1 of the joined pattern is pattern i, when patterns have
	// no groups of their own.
	for i := range patterns {
		if i+1 < len(m) && m[i+1] != "" {
			return i, m
		}
	}
	return -1, m
}

// waitConsoleAll waits until the console, after the previous match, has
// printed lines matching every pattern in any order (one boot's log lines
// from concurrent components), and returns each pattern's submatches.
func (b *board) waitConsoleAll(timeout time.Duration, patterns ...string) [][]string {
	b.t.Helper()
	start := b.cursor
	end := start
	out := make([][]string, len(patterns))
	for i, p := range patterns {
		b.cursor = start
		out[i] = b.waitConsole(p, timeout)
		end = max(end, b.cursor)
	}
	b.cursor = end
	return out
}

// consoleHas reports whether the console printed s at any time.
func (b *board) consoleHas(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.console.String(), s)
}

// ubootEnv reads the environment partition from the disk image, as the
// boot script and leafbox see it.
func (b *board) ubootEnv() map[string]string {
	b.t.Helper()
	f, err := os.Open(b.disk)
	if err != nil {
		b.t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, envSize)
	if _, err := f.ReadAt(buf, envOffset); err != nil {
		b.t.Fatal(err)
	}
	vars, _, err := ota.ParseUBootEnv(buf, false)
	if err != nil {
		b.t.Fatalf("U-Boot environment on the disk: %v", err)
	}
	return vars
}

// consoleCount reports how many times the console printed a line matching
// pattern so far.
func (b *board) consoleCount(pattern string) int {
	re := regexp.MustCompile(pattern)
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(re.FindAllStringIndex(b.console.String(), -1))
}

// shell runs a command line in the guest's root shell on the serial
// console (board/qemu/rootfs-overlay/etc/init.d/S90console) and waits
// until it has run. It returns the console text up to the end of the
// command, the terminal's echo of the line included.
func (b *board) shell(cmdline string, timeout time.Duration) string {
	b.t.Helper()
	return b.waitConsole(`(?s)(.*?)`+b.shellStart(cmdline), timeout)[1]
}

// shellStart sends a command line to the guest's shell and returns the
// pattern of the marker the shell prints when the line has run. The marker
// is made by the shell's arithmetic, so the terminal's echo of the line
// cannot match it.
func (b *board) shellStart(cmdline string) string {
	b.t.Helper()
	b.shellSeq++
	n := 1000 + b.shellSeq
	if _, err := fmt.Fprintf(b.stdin, "%s; echo HIL-$((%d+1))-done\n", cmdline, n); err != nil {
		b.t.Fatalf("write to the console: %v", err)
	}
	return fmt.Sprintf(`HIL-%d-done`, n+1)
}
