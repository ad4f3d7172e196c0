package main

import (
	"context"
	"strings"
	"testing"
)

// TestSubcommandHelp pins that every operator subcommand, and ota itself,
// answers -h and --help with its usage, flags and an example on stdout and
// exit code 0.
func TestSubcommandHelp(t *testing.T) {
	subs := []struct {
		args  []string
		flags []string
	}{
		{[]string{"id"}, []string{"-c", "-dir"}},
		{[]string{"ota", "keygen"}, []string{"-o"}},
		{[]string{"ota", "pack"}, []string{"-version", "-board", "-min-version", "-zstd", "-rootfs", "-boot", "-key", "-o"}},
		{[]string{"ota", "sign"}, []string{"-key"}},
		{[]string{"ota", "verify"}, []string{"-trusted", "-c"}},
		{[]string{"ota", "install"}, []string{"-c", "-force", "-no-reboot"}},
		{[]string{"ota", "status"}, []string{"-c"}},
		{[]string{"ota", "command"}, []string{"-key", "-device", "-url", "-bucket", "-object", "-force", "-reboot"}},
		{[]string{"ota"}, []string{"keygen", "pack", "sign", "verify", "install", "status", "command"}},
	}
	for _, sub := range subs {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), sub.args...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr strings.Builder
				code := run(context.Background(), args, &stdout, &stderr)
				out := stdout.String()
				if code != 0 {
					t.Errorf("exit %d, want 0; stderr: %s", code, stderr.String())
				}
				if stderr.Len() != 0 {
					t.Errorf("stderr: %s", stderr.String())
				}
				want := []string{"Usage: leafbox " + strings.Join(sub.args, " "), "Example"}
				for _, f := range sub.flags {
					want = append(want, "  "+f)
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("help lacks %q:\n%s", w, out)
					}
				}
			})
		}
	}
}

// TestSubcommandUnknown: a misspelt ota subcommand is an error that points
// to the help.
func TestSubcommandUnknown(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"ota", "instal"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `unknown ota subcommand "instal"`) || !strings.Contains(stderr.String(), "leafbox ota -h") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
