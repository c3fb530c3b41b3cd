package diagnose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// TLSMode says how the diagnosis uses TLS on the control connection.
type TLSMode int

const (
	// TLSAuto tries AUTH TLS and goes on in plain text when it is refused.
	TLSAuto TLSMode = iota
	// TLSRequire fails when AUTH TLS is refused.
	TLSRequire
	// TLSOff never sends AUTH TLS.
	TLSOff
	// TLSImplicit speaks TLS from the first byte (ftps://).
	TLSImplicit
)

// dialSession connects, reads the greeting, negotiates TLS when useTLS,
// logs in and sets TYPE I (and PBSZ/PROT P with TLS). With rec set, every
// step is recorded in the report; otherwise only the error is returned.
func (r *runner) dialSession(ctx context.Context, useTLS, rec bool) (*ctrl, error) {
	o := r.o
	var addrs []netip.Addr
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip.Unmap()}
	} else {
		rctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
		addrs, err = net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		cancel()
		if err != nil || len(addrs) == 0 {
			if rec {
				r.add(&Step{ID: "resolve", Title: "Resolve", Status: Failed, Fault: "dns",
					Summary: fmt.Sprintf("%s: %v", host, err),
					Meaning: "The name does not resolve here, so no client can connect.",
					Action:  "Check the name, this machine's DNS resolver, and the server's DNS records."})
			}
			return nil, fmt.Errorf("resolve %s: %v", host, err)
		}
		if rec {
			var s []string
			for _, a := range addrs {
				s = append(s, a.Unmap().String())
			}
			r.add(&Step{ID: "resolve", Title: "Resolve", Status: OK, Summary: host + " is " + strings.Join(s, ", ")})
		}
	}
	var conn net.Conn
	var cerr error
	for _, a := range addrs {
		d := net.Dialer{Timeout: o.ConnectTimeout}
		conn, cerr = d.DialContext(ctx, "tcp", net.JoinHostPort(a.Unmap().String(), port))
		if cerr == nil {
			break
		}
	}
	if cerr != nil {
		if rec {
			s := &Step{ID: "connect", Title: "Connect", Status: Failed, Summary: fmt.Sprintf("%s: %v", o.Addr, cerr)}
			switch classify(cerr) {
			case netTimeout:
				s.Fault, s.Meaning = "connect-timeout", fmt.Sprintf("No answer within %v: a firewall drops the packets to port %s, or the host is down.", o.ConnectTimeout, port)
				s.Action = "Open the control port (" + port + "/tcp) in the firewalls between here and the server, and check that the host is up."
			case netRefused:
				s.Fault, s.Meaning = "connect-refused", "The host answered that nothing listens on port "+port+" (or a firewall rejects it)."
				s.Action = "Start the FTP server, check the port it listens on (ferry: listen; vsftpd: listen_port), or the firewall's reject rule."
			case netReset:
				s.Fault, s.Meaning = "connect-reset", "The connection was reset: a firewall or TCP wrapper (hosts.deny) cuts it off."
				s.Action = "Check the server's access rules and firewalls for this client's address."
			case netUnreachable:
				s.Fault, s.Meaning = "connect-unreachable", "There is no route to the server from here."
				s.Action = "Check routing and the address."
			default:
				s.Fault = "connect-error"
			}
			r.add(s)
		}
		return nil, cerr
	}
	c := newCtrl(conn, o.CommandTimeout, o.Debug)
	if rec {
		r.add(&Step{ID: "connect", Title: "Connect", Status: OK,
			Summary: fmt.Sprintf("connected to %s from %s", c.remote, c.local),
			Facts:   map[string]string{"remote": c.remote.String(), "local": c.local.String()}})
	}
	fail := func(err error) (*ctrl, error) { conn.Close(); return nil, err }
	if o.TLS == TLSImplicit {
		if err := r.handshake(ctx, c, rec, "tls.implicit", "Implicit TLS"); err != nil {
			return fail(err)
		}
	}
	// Greeting.
	rep, err := c.read(ctx, 0)
	for err == nil && rep.Code == ftp.CodeServiceReadyIn {
		rep, err = c.read(ctx, 0)
	}
	if err != nil || rep.Code != ftp.CodeServiceReady {
		if rec {
			s := &Step{ID: "greeting", Title: "Greeting", Status: Failed, Fault: "greeting"}
			switch {
			case err == nil:
				s.Summary = replyText(rep)
				s.Meaning = "The server does not accept sessions now (too many connections, or this address is not allowed)."
				s.Action = "Read the server's message; check its connection limits and access rules."
			case classify(err) == netTimeout:
				s.Summary = "connected, but no greeting within " + o.CommandTimeout.String()
				s.Meaning = "Something accepts the connection but does not speak FTP: an overloaded server, a slow reverse DNS lookup, a TLS-only (implicit, port 990) port, or a proxy that drops the session."
				s.Action = "For implicit FTPS use an ftps:// URL; otherwise check the server's log and reverse DNS (vsftpd reverse_lookup_enable, pure-ftpd -H)."
			default:
				s.Summary = "connection closed before the greeting: " + err.Error()
				s.Meaning = "The server or a firewall closes new sessions at once (TCP wrappers, a per-address limit, a ban)."
				s.Action = "Check the server's access rules (hosts.deny, bans, max_per_ip) for this address."
			}
			r.add(s)
		}
		if err == nil {
			err = &ftp.Error{Code: rep.Code, Message: rep.Message()}
		}
		return fail(err)
	}
	if rec {
		r.add(&Step{ID: "greeting", Title: "Greeting", Status: OK, Summary: replyText(rep)})
	}
	if useTLS && o.TLS != TLSImplicit {
		rep, err := c.cmd(ctx, "AUTH TLS")
		if err != nil {
			return fail(err)
		}
		if rep.Code != ftp.CodeAuthOK {
			if rec {
				s := &Step{ID: "tls.auth", Title: "AUTH TLS", Summary: replyText(rep), Fault: "no-tls",
					Meaning: "The server offers no FTPS: passwords and files cross the network readable by anyone on the path.",
					Action:  "Configure a certificate (ferry: [tls] cert_file/key_file; vsftpd: ssl_enable=YES; pure-ftpd: --tls 1)."}
				s.Status = Warning
				if o.TLS == TLSRequire {
					s.Status = Failed
				}
				r.add(s)
			}
			if o.TLS == TLSRequire {
				return fail(errors.New("AUTH TLS refused: " + replyText(rep)))
			}
			r.noTLS = true
			useTLS = false
		} else if err := r.handshake(ctx, c, rec, "tls.auth", "AUTH TLS"); err != nil {
			return fail(err)
		}
	}
	// Log in.
	user, pass := o.User, o.Password
	if user == "" {
		user, pass = "anonymous", "ferry-diagnose@"
	}
	rep, err = c.cmd(ctx, "USER "+user)
	if err == nil && rep.Code == ftp.CodeNeedPassword {
		rep, err = c.cmd(ctx, "PASS "+pass)
	}
	if err != nil || rep.Code/100 != 2 {
		tlsReq := err == nil && c.tlsConf == nil && tlsRequiredReply(rep)
		if rec {
			s := &Step{ID: "login", Title: "Login", Status: Failed, Summary: "as " + user + ": "}
			switch {
			case err != nil:
				s.Summary += err.Error()
				s.Fault = "login-lost"
				s.Meaning = "The connection broke during the login."
			case tlsReq:
				s.Summary += replyText(rep)
				s.Fault = "tls-required"
				s.Meaning = "The server requires TLS (FTPS) before the login; plain FTP clients are refused."
				s.Action = "Use an FTPS client setting (explicit TLS, ftpes://; FileZilla \"Require explicit FTP over TLS\"), or run ferry diagnose without --no-tls."
			default:
				s.Summary += replyText(rep)
				s.Fault = "login-refused"
				s.Meaning = "The user name or password is wrong, the account is locked, or this address may not log in."
				s.Action = "Check the credentials and the server's user configuration and log."
			}
			r.add(s)
		}
		if err == nil {
			err = &ftp.Error{Code: rep.Code, Message: rep.Message()}
			if tlsReq {
				err = errTLSRequired{rep}
			}
		}
		return fail(err)
	}
	if rec {
		r.add(&Step{ID: "login", Title: "Login", Status: OK, Summary: "as " + user + ": " + replyText(rep)})
	}
	if _, err := c.cmd(ctx, "TYPE I"); err != nil {
		return fail(err)
	}
	if c.tlsConf != nil {
		rep, err := c.cmd(ctx, "PBSZ 0")
		if err == nil {
			rep, err = c.cmd(ctx, "PROT P")
		}
		if err != nil {
			return fail(err)
		}
		c.protP = rep.Code/100 == 2
		if rec {
			s := &Step{ID: "tls.prot", Title: "PROT P", Status: OK, Summary: replyText(rep)}
			if !c.protP {
				s.Status, s.Fault = Warning, "no-prot-p"
				s.Meaning = "The server refuses to protect data connections: file contents and listings travel in clear text."
				s.Action = "Enable TLS on data connections (vsftpd force_local_data_ssl; ferry does so by default)."
			}
			r.add(s)
		}
	}
	return c, nil
}

type errTLSRequired struct{ rep ftp.Reply }

func (e errTLSRequired) Error() string { return "the server requires TLS: " + replyText(e.rep) }

// tlsRequiredReply recognises the refusals of a plain-text login on
// servers that require TLS (RFC 4217 section 6 suggests 534; servers
// mostly send 530, 550 or 421 with words to that effect).
func tlsRequiredReply(rep ftp.Reply) bool {
	if rep.Code == 534 {
		return true
	}
	if rep.Code/100 != 4 && rep.Code/100 != 5 {
		return false
	}
	m := strings.ToLower(rep.Message())
	for _, w := range []string{"tls", "ssl", "encrypt", "cleartext", "clear text", "secure"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// tlsConfig is the client TLS configuration: certificates are verified
// by the diagnosis itself (so a bad one is reported, not just refused).
func (r *runner) tlsConfig() *tls.Config {
	if r.tlsConf == nil {
		r.tlsConf = &tls.Config{
			InsecureSkipVerify: true, // verified by checkCert, which reports what is wrong
			ServerName:         r.o.ServerName,
			ClientSessionCache: tls.NewLRUClientSessionCache(16),
			NextProtos:         []string{"ftp"},
		}
	}
	return r.tlsConf
}

func (r *runner) handshake(ctx context.Context, c *ctrl, rec bool, id, title string) error {
	tc, err := c.startTLS(ctx, r.tlsConfig())
	if err != nil {
		if rec {
			r.add(&Step{ID: id, Title: title, Status: Failed, Fault: "tls-handshake",
				Summary: "TLS handshake failed: " + err.Error(),
				Meaning: "FTPS clients cannot set up TLS with this server (no common protocol version or cipher, a broken certificate setup, or a middlebox that cuts TLS).",
				Action:  "Check the server's certificate and key files and its TLS settings; ferry needs TLS 1.2 or newer."})
		}
		return err
	}
	if rec {
		st := tc.ConnectionState()
		r.add(&Step{ID: id, Title: title, Status: OK,
			Summary: fmt.Sprintf("%s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)),
			Facts:   map[string]string{"version": tls.VersionName(st.Version), "cipher": tls.CipherSuiteName(st.CipherSuite), "alpn": st.NegotiatedProtocol}})
		r.add(r.checkCert(st))
	}
	return nil
}

// checkCert judges the certificate chain, name and dates.
func (r *runner) checkCert(st tls.ConnectionState) *Step {
	s := &Step{ID: "tls.certificate", Title: "Certificate", Status: OK}
	if len(st.PeerCertificates) == 0 {
		s.Status, s.Summary = Failed, "the server sent no certificate"
		return s
	}
	leaf := st.PeerCertificates[0]
	now := r.o.now()
	s.Facts = map[string]string{"subject": leaf.Subject.String(), "issuer": leaf.Issuer.String(),
		"not_after": leaf.NotAfter.UTC().Format(time.RFC3339)}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	vt := now
	if now.After(leaf.NotAfter) {
		vt = leaf.NotAfter.Add(-time.Second) // judge the chain apart from the dates
	}
	_, chainErr := leaf.Verify(x509.VerifyOptions{Roots: r.o.RootCAs, Intermediates: inter, CurrentTime: vt})
	nameErr := leaf.VerifyHostname(r.o.ServerName)
	var problems []string
	switch {
	case now.After(leaf.NotAfter):
		s.Status, s.Fault = Failed, "cert-expired"
		problems = append(problems, "expired on "+leaf.NotAfter.UTC().Format("2006-01-02"))
		s.Action = "Renew the certificate and reload the server."
	case now.Before(leaf.NotBefore):
		s.Status, s.Fault = Failed, "cert-not-yet-valid"
		problems = append(problems, "not valid before "+leaf.NotBefore.UTC().Format(time.RFC3339)+" (check the clocks)")
	case leaf.NotAfter.Sub(now) < 14*24*time.Hour:
		s.Status, s.Fault = Warning, "cert-expiring"
		problems = append(problems, "expires on "+leaf.NotAfter.UTC().Format("2006-01-02"))
		s.Action = "Renew the certificate soon."
	}
	if chainErr != nil {
		if s.Status < Warning {
			s.Status, s.Fault = Warning, "cert-untrusted"
		}
		problems = append(problems, "not trusted here ("+chainErr.Error()+")")
		s.Action = strings.TrimSpace(s.Action + " Use a certificate from a public CA (or give clients your CA: ferry --ca, curl --cacert); self-signed certificates make clients ask or refuse.")
	}
	if nameErr != nil {
		if s.Status < Warning {
			s.Status, s.Fault = Warning, "cert-name"
		}
		problems = append(problems, "not valid for "+r.o.ServerName)
		s.Action = strings.TrimSpace(s.Action + " Use a certificate that names the host clients connect to.")
	}
	if len(problems) == 0 {
		s.Summary = fmt.Sprintf("valid for %s until %s, issued by %s", r.o.ServerName, leaf.NotAfter.UTC().Format("2006-01-02"), leaf.Issuer.CommonName)
		return s
	}
	s.Summary = strings.Join(problems, "; ")
	if s.Fault == "cert-expiring" && chainErr == nil && nameErr == nil {
		s.Meaning = "Once it expires, clients that verify certificates refuse the connection."
	} else {
		s.Meaning = "Clients that verify certificates (curl, lftp, rclone, ferry) refuse the connection; others ask the user to accept it."
	}
	return s
}
