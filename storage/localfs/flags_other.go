//go:build !unix

package localfs

// Open flags for systems without O_DIRECTORY and O_NONBLOCK; see
// flags_unix.go.
const (
	oDirectory = 0
	oNonblock  = 0
)
