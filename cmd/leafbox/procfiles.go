package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
)

// processName is what --signal looks for when given no process id, as
// nats-server looks for nats-server.
const processName = "leafbox"

// sendSignal carries out --signal COMMAND[=PID|PIDFILE] the way nats-server
// does: a value that names a readable file is a pid file, anything else a
// process id; without one, the only other process named leafbox (found
// with pgrep) gets the signal.
func sendSignal(spec string) error {
	cmd, target, hasTarget := strings.Cut(spec, "=")
	sig, ok := config.SignalFor(cmd)
	if !ok {
		return fmt.Errorf("unknown signal %q", cmd)
	}
	var pid int
	if hasTarget {
		if b, err := os.ReadFile(target); err == nil {
			target = string(b)
		}
		n, err := strconv.Atoi(strings.TrimSpace(target))
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid pid %q", strings.TrimSpace(target))
		}
		pid = n
	} else {
		n, err := findProcess(processName)
		if err != nil {
			return err
		}
		pid = n
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %s %d: %w", cmd, pid, err)
	}
	return nil
}

// findProcess returns the pid of the one running process called name other
// than this one.
func findProcess(name string) (int, error) {
	out, err := exec.Command("pgrep", "-x", name).Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, errors.New("unable to resolve pid, try providing one")
	}
	var pids []string
	for _, f := range strings.Fields(string(out)) {
		if f != strconv.Itoa(os.Getpid()) {
			pids = append(pids, f)
		}
	}
	switch len(pids) {
	case 0:
		return 0, fmt.Errorf("no %s processes running", name)
	case 1:
		return strconv.Atoi(pids[0])
	default:
		return 0, fmt.Errorf("multiple %s processes running:\n%s", name, strings.Join(pids, "\n"))
	}
}

// procFiles are the pid and ports files of a running daemon, removed when
// it stops.
type procFiles struct{ paths []string }

// writePidFile writes this process's id to path, as nats-server does (no
// newline).
func (f *procFiles) writePidFile(path string) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	f.paths = append(f.paths, path)
	return nil
}

// ports is the content of a ports file, nats-server's Ports with the
// listeners leafbox has.
type ports struct {
	Nats       []string `json:"nats,omitempty"`
	Monitoring []string `json:"monitoring,omitempty"`
}

// writePortsFile writes dir/<exe>_<pid>.ports: the URLs of the client and
// monitoring listeners, a wildcard host expanded to the host's addresses.
func (f *procFiles) writePortsFile(dir string, opts *config.Options, client, monitor net.Addr) error {
	var p ports
	scheme := "nats"
	if opts.Broker.TLS != nil {
		scheme = "tls"
	}
	p.Nats = listenURLs(scheme, client)
	if monitor != nil {
		mscheme := "http"
		if opts.HTTPSPort != 0 {
			mscheme = "https"
		}
		p.Monitoring = listenURLs(mscheme, monitor)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("write ports file: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s_%d.ports", filepath.Base(os.Args[0]), os.Getpid()))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write ports file: %w", err)
	}
	f.paths = append(f.paths, path)
	return nil
}

// remove deletes the files written; a file already gone is fine.
func (f *procFiles) remove() error {
	var errs []error
	for _, p := range f.paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// listenURLs is scheme://host:port for a listener's address; a wildcard
// address becomes one URL per address of the host's interfaces, as
// nats-server lists them.
func listenURLs(scheme string, addr net.Addr) []string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsUnspecified() {
		return []string{scheme + "://" + net.JoinHostPort(host, port)}
	}
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return []string{scheme + "://" + net.JoinHostPort(host, port)}
	}
	// 0.0.0.0 listens on IPv4 only; :: on both.
	v4Only := ip.To4() != nil
	var urls []string
	for _, a := range ifAddrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() || v4Only && n.IP.To4() == nil {
			continue
		}
		urls = append(urls, scheme+"://"+net.JoinHostPort(n.IP.String(), port))
	}
	return urls
}
