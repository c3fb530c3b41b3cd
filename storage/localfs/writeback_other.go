//go:build !linux

package localfs

import "os"

// writebackSupported is false: only Linux has sync_file_range(2), and
// uploads elsewhere leave all the writeback to the final fsync.
const writebackSupported = false

func startWriteback(*os.File, int64, int64) bool { return false }
func awaitWriteback(*os.File, int64, int64)      {}
