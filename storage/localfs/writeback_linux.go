package localfs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// writebackSupported says that startWriteback does something here.
const writebackSupported = true

// startWriteback starts the writeback of [off, off+n) of f with
// sync_file_range(2) and SYNC_FILE_RANGE_WRITE, which queues the dirty
// pages for the disk and returns. It reports false when the file cannot
// take the request (ESPIPE, EINVAL, ENOSYS: a file system or kernel
// without it); an I/O error here is left for the final fsync to report.
func startWriteback(f *os.File, off, n int64) bool {
	err := syncRange(f, off, n, unix.SYNC_FILE_RANGE_WRITE)
	return err == nil || errors.Is(err, unix.EIO) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.ENOMEM)
}

// awaitWriteback waits for the writeback of [off, off+n) of f, writing
// any page of it still dirty first (WAIT_BEFORE | WRITE | WAIT_AFTER).
// Errors are left for the final fsync, which sees them too.
func awaitWriteback(f *os.File, off, n int64) {
	syncRange(f, off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
}

// syncRange calls sync_file_range(2) on f's descriptor, again on EINTR.
// It goes through SyscallConn, since (*os.File).Fd would switch the file
// to blocking mode.
func syncRange(f *os.File, off, n int64, flags int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = unix.SyncFileRange(int(fd), off, n, flags)
			if serr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
