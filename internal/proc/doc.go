// Package proc holds the few process and file-lock calls that differ
// between operating systems, for the test helpers that run outside
// programs (peer FTP servers, the S3 test server): process groups, group
// signals and exclusive file locks. On systems without them (Windows) the
// calls report errors.ErrUnsupported, so those helpers fail or skip there
// instead of keeping the packages that import them from building.
package proc
