package ftpclient

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncAtEnd says that MirrorDown makes its downloads durable with one
// syncfs(2) at the end instead of an fsync per file: on a disk, a mirror
// of many small files would otherwise wait for a journal commit per file.
const syncAtEnd = true

// syncFS flushes the file system that holds dir (a variable for tests).
var syncFS = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
