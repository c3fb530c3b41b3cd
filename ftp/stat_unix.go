//go:build unix

package ftp

import (
	"io/fs"
	"syscall"
)

// sysIDs returns the numeric owner, group, device and inode of fi when its
// Sys value is a *syscall.Stat_t.
func sysIDs(fi fs.FileInfo) (uid, gid uint32, dev, ino uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return 0, 0, 0, 0, false
	}
	return st.Uid, st.Gid, uint64(st.Dev), uint64(st.Ino), true
}
