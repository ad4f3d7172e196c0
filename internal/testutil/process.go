package testutil

import (
	"os/exec"
	"syscall"
)

// DieWithTest makes cmd's process get SIGKILL when the test process dies,
// so that a test binary killed by its -timeout (which runs no cleanup)
// leaves no QEMU, nats-server or mosquitto behind to load the machine and
// hold ports. Call it before cmd.Start. Linux only, as the tests are;
// it keys on the thread that starts cmd, which the Go runtime keeps.
func DieWithTest(cmd *exec.Cmd) *exec.Cmd {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return cmd
}
