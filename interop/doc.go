// Package interop tests ferry's FTP server against real FTP clients run as
// separate processes: curl, lftp, tnftp, wget, Python's ftplib, rclone,
// ncftp and aioftp, plus the secsy/goftp Go library, in passive (PASV,
// EPSV) and active (PORT, EPRT) mode, over IPv4 and IPv6 loopback, plain
// and FTPS (RFC 4217), checking the bytes that land on disk with SHA-256. It also
// replays recorded client sessions (ProFuzzBench seeds in ../shared) against
// a live server and runs 100 concurrent sessions.
//
// The package holds tests only. A test whose client is not installed is
// skipped with a message naming the Debian package, unless the environment
// sets FERRY_REQUIRE_INTEROP=1 (as CI does), in which case it fails.
//
// Protocols exercised: RFC 959 (FTP), RFC 2428 (EPRT, EPSV), RFC 3659
// (SIZE, REST STREAM, MLSD), RFC 2577 (PORT bounce protection) and RFC 2640
// (UTF-8 path names).
package interop
