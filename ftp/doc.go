// Package ftp holds the protocol types shared by the ferry server, client and
// proxy: reply codes, the Error and Reply types, command-line parsing, the
// host-port codecs for PORT, PASV, EPRT and EPSV, and the LIST and MLSx
// listing formats.
//
// It implements parts of:
//   - RFC 959: File Transfer Protocol (commands, replies, PORT/PASV, LIST)
//   - RFC 2389: Feature negotiation mechanism (FEAT, OPTS)
//   - RFC 2428: FTP Extensions for IPv6 and NATs (EPRT, EPSV)
//   - RFC 3659: Extensions to FTP (MDTM, SIZE, REST STREAM, MLST/MLSD)
//   - RFC 2640: Internationalization of FTP (UTF-8 path names)
//
// The host-port forms (PORT, PASV replies, EPRT, EPSV replies) are parsed
// and formatted only in this package; every other package goes through
// ParsePORT, FormatPORT, ParsePASVReply, FormatPASVReply, ParseEPRT,
// FormatEPRT, ParseEPSVReply and FormatEPSVReply.
package ftp
