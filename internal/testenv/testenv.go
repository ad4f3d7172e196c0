// Package testenv decides what a test does when the machine lacks something
// it needs: a program, a free fixed port, a kernel or file system feature.
//
// By default such a test skips, so `go test ./...` works on a laptop without
// mosquitto or nats-server. With LEAFBOX_REQUIRE_INTEGRATION=1 (make test and
// .ci/run set it) it fails instead: a CI machine that lost a tool must go
// red, not quietly skip the tests that use it.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns missing prerequisites
// into failures when set to "1".
const RequireEnv = "LEAFBOX_REQUIRE_INTEGRATION"

// Required reports whether missing prerequisites fail tests rather than
// skip them.
func Required() bool {
	return os.Getenv(RequireEnv) == "1"
}

// Skip skips t for a missing prerequisite, described by format and args;
// under LEAFBOX_REQUIRE_INTEGRATION=1 it fails t instead.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format+" (failing, not skipping: "+RequireEnv+"=1)", args...)
	}
	t.Skipf(format, args...)
}

// NeedTool returns the path of the program name found on PATH. When it is
// missing, the test skips or fails as Skip decides; install says how to get
// it (a Debian package, a go install command).
func NeedTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not found (%s): %v", name, install, err)
	}
	return p
}

// SkipUnsupported skips t even under LEAFBOX_REQUIRE_INTEGRATION=1. It is
// for what a CI machine is not expected to have (a kernel module, root):
// every call names that reason, so such skips are deliberate and greppable
// rather than a switch-proof hole.
func SkipUnsupported(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Skipf("unsupported here, allowed under "+RequireEnv+": "+format, args...)
}
