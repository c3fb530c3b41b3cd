//go:build unix

package localfs

import "syscall"

// Open flags that keep a FIFO or device swapped in by someone with shell
// access from blocking a session: directories are opened with O_DIRECTORY,
// files with O_NONBLOCK (which regular files ignore) and then checked.
const (
	oDirectory = syscall.O_DIRECTORY
	oNonblock  = syscall.O_NONBLOCK
)

// canSyncDir says that a directory opened read-only can be fsynced.
const canSyncDir = true
