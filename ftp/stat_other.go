//go:build !unix

package ftp

import "io/fs"

// sysIDs reports that no numeric owner or inode is known on this platform.
func sysIDs(fs.FileInfo) (uid, gid uint32, dev, ino uint64, ok bool) {
	return 0, 0, 0, 0, false
}
