package localfs

import (
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2(2) turned out to be missing (ENOSYS: a
// kernel before 5.6, or a sandbox that filters it); opens then go through
// os.Root alone.
var noOpenat2 atomic.Bool

// openBeneath opens name (a clean relative path, as storage.ValidName
// allows) for reading with one openat2(2) call relative to the root
// directory, with RESOLVE_BENEATH: the kernel refuses, race-free, any
// component or symbolic link that leads out of the root (EXDEV, reported
// as errEscapes) and magic links, and follows links that stay inside, as
// os.Root does. os.Root instead opens every directory on the way and
// closes it again. handled is false when the call could not be made (no
// openat2, a sandbox's EPERM, a rename racing with the lookup): the
// caller then opens through os.Root, which gives the authoritative answer.
func (f *FS) openBeneath(name string) (file *os.File, handled bool, err error) {
	if f.rootDir == nil || noOpenat2.Load() {
		return nil, false, nil
	}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, errno := -1, error(nil)
	cerr := f.rootDir.Control(func(dirfd uintptr) {
		for {
			fd, errno = unix.Openat2(int(dirfd), name, &how)
			if errno != unix.EINTR {
				return
			}
		}
	})
	switch {
	case cerr != nil:
		return nil, false, nil // the FS is closed: os.Root says so
	case errno == nil:
		return os.NewFile(uintptr(fd), f.root.Name()+"/"+name), true, nil
	case errno == unix.ENOSYS:
		noOpenat2.Store(true)
		return nil, false, nil
	case errno == unix.EXDEV:
		return nil, true, errEscapes
	case errno == unix.EPERM || errno == unix.EAGAIN || errno == unix.E2BIG:
		return nil, false, nil
	}
	return nil, true, &os.PathError{Op: "openat2", Path: name, Err: errno}
}

// openRootDir keeps a descriptor of the root directory for openBeneath.
// Without one (an error here), every open goes through os.Root.
func (f *FS) openRootDir() {
	d, err := f.root.OpenFile(".", os.O_RDONLY|oDirectory|oNonblock, 0)
	if err != nil {
		return
	}
	rc, err := d.SyscallConn()
	if err != nil {
		d.Close()
		return
	}
	f.rootFile, f.rootDir = d, rc
}
