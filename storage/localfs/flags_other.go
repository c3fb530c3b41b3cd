//go:build !unix

package localfs

// Open flags for systems without O_DIRECTORY and O_NONBLOCK; see
// flags_unix.go.
const (
	oDirectory = 0
	oNonblock  = 0
)

// canSyncDir is false where a directory cannot be opened and fsynced (on
// Windows the rename is made durable by the file system's journal alone).
const canSyncDir = false
