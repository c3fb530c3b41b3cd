// Package ftpclient is an FTP client: Conn is one control connection,
// Client a goroutine-safe pool of them with retries, resume, mirroring and
// segmented downloads.
//
// It implements the client side of:
//   - RFC 959: File Transfer Protocol (login, PORT/PASV, RETR/STOR/APPE,
//     LIST/NLST, MKD/RMD/DELE/RNFR/RNTO, ABOR, REST)
//   - RFC 2389: Feature negotiation (FEAT, OPTS)
//   - RFC 2428: FTP Extensions for IPv6 and NATs (EPRT, EPSV)
//   - RFC 3659: Extensions to FTP (SIZE, MDTM, REST STREAM, MLST, MLSD)
//   - RFC 4217: Securing FTP with TLS (AUTH TLS, PBSZ, PROT, implicit FTPS)
//   - RFC 2640: UTF-8 path names (OPTS UTF8 ON)
//   - draft-somers-ftp-mfxx (MFMT) and draft-bryan-ftpext-hash (HASH)
//
// Every host-port form is parsed and formatted by package ftp, and replies
// are read by internal/wire; this package holds no second codec.
//
// # Transfers and cancellation
//
// Retr and Stor copy between the data connection and the caller's writer or
// reader with io.Copy, so a plain (non-TLS) transfer to or from an *os.File
// uses splice/sendfile. When the context is cancelled or the local side
// fails, the data connection is closed and ABOR is sent followed by NOOP;
// the replies are read up to NOOP's 200 so the control connection stays in
// step (426/226, 225 or 226 alone are all accepted). If that does not work
// within the timeout the Conn is marked broken and closed.
//
// # TLS session reuse
//
// Servers such as vsftpd (require_ssl_reuse=YES) and proftpd
// (TLSOptions without NoSessionReuseRequired) insist that every data
// connection resumes the TLS session of the control connection. Go's
// crypto/tls resumes sessions through tls.Config.ClientSessionCache, keyed
// by ServerName. The Conn therefore uses one tls.Config, with a
// ClientSessionCache (a new LRU cache unless the caller set one) and a fixed
// ServerName (the dial host unless set), for the control connection and
// every data connection: the control connection's handshake stores the
// session (TLS 1.2 ticket or TLS 1.3 PSK ticket, which arrives after the
// handshake and is read with the next reply), and each data connection's
// handshake offers it. Sharing one cache between Conns (Client does) lets
// them all resume.
package ftpclient
