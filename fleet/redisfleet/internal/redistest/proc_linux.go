package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the server when the test process dies,
// so that a test binary killed by its timeout leaves no server behind.
// (Strictly, when the thread that started it ends: Go ends a thread only
// when a goroutine locked to it exits, which these fixtures never do.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
