// Package ftpproxy is an FTP application-level gateway (ALG): a proxy that
// understands the FTP control connection well enough to open, check and
// splice the data connections it announces, so FTP can cross firewalls and
// NAT without the firewall opening arbitrary ports.
//
// It follows the tradition of IPFilter's FTP proxy ("map ... proxy port ftp
// ftp/tcp", "rdr ... proxy port ftp"), OpenBSD's ftp-proxy and Linux's
// nf_conntrack_ftp, but runs in user space on a reassembled stream and
// re-creates every line it forwards instead of patching packets.
//
// Modes: reverse (a fixed backend or a backend chosen by user name),
// explicit (the client logs in as user@host[:port]) and transparent (Linux:
// connections redirected by nftables/iptables, original destination from
// SO_ORIGINAL_DST).
//
// It implements parts of:
//   - RFC 959: File Transfer Protocol (control/data model, PORT, PASV, reply
//     pairing, multi-line replies)
//   - RFC 2428: FTP Extensions for IPv6 and NATs (EPRT, EPSV, EPSV ALL)
//   - RFC 2577: FTP Security Considerations (bounce protection, low ports,
//     port stealing)
//   - RFC 4217: Securing FTP with TLS (AUTH TLS, PBSZ, PROT, implicit TLS,
//     terminated independently on each side)
//   - RFC 6384: An FTP Application Layer Gateway (ALG) for IPv6-to-IPv4
//     Translation (EPSV/EPRT toward IPv6, PASV fallback toward IPv4 servers
//     that refuse EPSV)
//
// and the HAProxy PROXY protocol, versions 1 and 2, toward backends.
//
// The package is a library: a program fills Options, calls New and Serve.
// It reads no configuration file; `ferry proxy` reads its TOML file
// (docs/proxy.md) in the command's own configuration package and hands
// the result to New, so embedding the proxy pulls in no TOML, S3 or SQL
// code.
package ftpproxy
