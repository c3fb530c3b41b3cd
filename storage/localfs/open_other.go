//go:build !linux

package localfs

import "os"

// openBeneath is Linux only (openat2(2)); elsewhere every open goes
// through os.Root.
func (f *FS) openBeneath(string) (*os.File, bool, error) { return nil, false, nil }

// openRootDir does nothing: openBeneath needs no descriptor here.
func (f *FS) openRootDir() {}
