package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childEnv makes the test binary run one helper test as a child process, so
// the parent can see whether it skipped or failed.
const childEnv = "LEAFBOX_TESTENV_CHILD"

// TestSkipChild is run only as a child of TestSkipOrFail.
func TestSkipChild(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("child of TestSkipOrFail")
	case "skip":
		Skip(t, "no such thing")
	case "tool":
		NeedTool(t, "leafbox-no-such-program", "nowhere")
	case "unsupported":
		SkipUnsupported(t, "no such kernel module")
	}
	t.Fatal("still running after a skip")
}

// TestSkipOrFail pins the switch: without it a missing prerequisite skips,
// with it the test fails; SkipUnsupported skips either way.
func TestSkipOrFail(t *testing.T) {
	tests := []struct {
		mode, require string
		wantFail      bool
	}{
		{"skip", "", false},
		{"skip", "1", true},
		{"skip", "0", false},
		{"tool", "", false},
		{"tool", "1", true},
		{"unsupported", "", false},
		{"unsupported", "1", false},
	}
	for _, tc := range tests {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+tc.mode, RequireEnv+"="+tc.require)
		out, err := cmd.CombinedOutput()
		failed := err != nil
		if failed != tc.wantFail {
			t.Errorf("%s with %s=%q: failed=%v, want %v\n%s", tc.mode, RequireEnv, tc.require, failed, tc.wantFail, out)
		}
		if !tc.wantFail && !strings.Contains(string(out), "--- SKIP: TestSkipChild") {
			t.Errorf("%s with %s=%q: did not skip\n%s", tc.mode, RequireEnv, tc.require, out)
		}
	}
}
