package testutil

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testenv"
)

// TestDieWithTest kills a middle process that started a sleep with
// DieWithTest, as a test timeout kills the test binary, and checks that the
// sleep dies too.
func TestDieWithTest(t *testing.T) {
	if os.Getenv("LEAFBOX_DIE_WITH_TEST_CHILD") == "1" {
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			os.Exit(3)
		}
		cmd := DieWithTest(exec.Command(sleep, "60"))
		if err := cmd.Start(); err != nil {
			os.Exit(4)
		}
		os.Stdout.WriteString(strconv.Itoa(cmd.Process.Pid) + "\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	testenv.NeedTool(t, "sleep", "Debian package coreutils")
	mid := exec.Command(os.Args[0], "-test.run=^TestDieWithTest$", "-test.count=1")
	mid.Env = append(os.Environ(), "LEAFBOX_DIE_WITH_TEST_CHILD=1")
	out, err := mid.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mid.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	n, err := out.Read(buf)
	if err != nil {
		t.Fatalf("read the grandchild's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatalf("pid %q: %v", buf[:n], err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	mid.Process.Kill()
	mid.Wait()
	WaitForf(t, 10*time.Second, func() bool {
		// A dead child of init is reaped at once; a zombie counts as dead.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(b), ") Z ")
	}, "sleep %d to die with its parent", pid)
}
