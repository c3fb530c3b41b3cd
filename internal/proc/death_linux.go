package proc

import "syscall"

func setDeathSignal(a *syscall.SysProcAttr, on bool) {
	if on {
		a.Pdeathsig = syscall.SIGKILL
	}
}
