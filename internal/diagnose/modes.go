package diagnose

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ferryftp/ferry/ftp"
)

// natSettings names the setting that makes each server announce its
// public address in PASV replies.
const natSettings = "ferry: public_addr in [passive] (or --public-addr); vsftpd: pasv_address; proftpd: MasqueradeAddress; pure-ftpd: -P (--forcepassiveip)"

// probeMain runs one probe on the main session, reconnecting first when
// needed and dropping the session when the probe leaves it out of step.
func (r *runner) probeMain(ctx context.Context, m dataMode, line string, up []byte) *probe {
	c, err := r.session(ctx)
	if err != nil {
		return &probe{mode: m, err: err}
	}
	conf := r.dataTLS(c)
	p := r.run(ctx, c, m, line, up, conf)
	if p.err != nil {
		r.drop()
	}
	if p.ok() && r.work == nil {
		mm := m
		r.work = &mm
	}
	if p.ok() {
		r.modesOK[m.String()] = true
	}
	return p
}

func (r *runner) dataTLS(c *ctrl) *tls.Config {
	if c.protP {
		return c.tlsConf
	}
	return nil
}

func (r *runner) listLine() string { return "LIST" + r.dirArg() }

// passive checks PASV and EPSV.
func (r *runner) passive(ctx context.Context) {
	c, err := r.session(ctx)
	if err != nil {
		return
	}
	control := c.remote
	p := r.probeMain(ctx, dataMode{verb: "PASV"}, r.listLine(), nil)
	s := &Step{ID: "passive.pasv", Title: "Passive (PASV)", Facts: map[string]string{"control": control.Addr().String()}}
	if p.announced.IsValid() {
		s.Facts["announced"] = p.announced.String()
		r.pasv = p.announced
	}
	switch {
	case !p.setupOK() && control.Addr().Is6():
		s.Status, s.Summary = Skipped, "PASV: "+replyText(p.setup)+" (IPv6 control connection: EPSV is the passive mode)"
	case !p.setupOK():
		r.dataFailure(s, p, "PASV")
	case p.announced.Addr() != control.Addr():
		r.pasvAddressStep(ctx, s, p, control)
	default:
		r.dataOutcome(s, p, "passive")
	}
	r.add(s)
	if ctx.Err() != nil {
		return
	}
	e := r.probeMain(ctx, dataMode{verb: "EPSV"}, r.listLine(), nil)
	es := &Step{ID: "passive.epsv", Title: "Passive (EPSV)"}
	if e.setupOK() {
		es.Facts = map[string]string{"port": fmt.Sprint(e.announced.Port())}
		r.dataOutcome(es, e, "passive")
	} else if e.err == nil {
		es.Status, es.Fault = Warning, "no-epsv"
		es.Summary = "EPSV: " + replyText(e.setup)
		es.Meaning = "Clients that try EPSV first fall back to PASV; over IPv6 there is no passive mode at all."
		es.Action = "Enable EPSV (RFC 2428) on the server, or on the firewall/ALG that filters it."
	} else {
		r.dataFailure(es, e, "EPSV")
	}
	r.add(es)
}

// pasvAddressStep judges a PASV reply that names another address than
// the one the control connection reached.
func (r *runner) pasvAddressStep(ctx context.Context, s *Step, p *probe, control netip.AddrPort) {
	ann := p.announced.Addr()
	nat := unroutable(ann) && !unroutable(control.Addr())
	if p.ok() {
		s.Status, s.Fault = Warning, "pasv-address-differs"
		s.Summary = fmt.Sprintf("PASV announces %s, not %s, and it is reachable from here; LIST worked", ann, control.Addr())
		s.Meaning = "Clients that reach the server by another path (from outside a NAT) may not reach this address."
		s.Action = "If the server is behind NAT, announce the public address: " + natSettings + "; for LAN clients use public_addr_by_net."
		return
	}
	s.Status = Failed
	s.Summary = fmt.Sprintf("PASV announces %s, but the control connection reached %s; connecting to %s: %s", p.announced, control.Addr(), p.announced, describe(p))
	if nat {
		s.Fault = "nat-private-pasv"
		s.Meaning = fmt.Sprintf("The server is behind NAT and announces its private address %s without public_addr. Many clients connect to that address and fail.", ann)
		s.Action = "Announce the public address in PASV replies: " + natSettings + ". Forward the passive port range on the NAT as well."
	} else {
		s.Fault = "pasv-wrong-address"
		s.Meaning = fmt.Sprintf("The server announces %s for data connections, which cannot be reached from here. Many clients connect to that address and fail.", ann)
		s.Action = "Set the address the server announces (" + natSettings + ") to one clients can reach."
	}
	if ctx.Err() != nil {
		return
	}
	alt := r.probeMain(ctx, dataMode{verb: "PASV", useControl: true}, r.listLine(), nil)
	if alt.ok() {
		s.Summary += fmt.Sprintf("; the same port on the control address %s works", control.Addr())
		s.Meaning += " Clients that substitute the control address (curl, FileZilla, lftp, ferry) still work."
	} else {
		s.Summary += fmt.Sprintf("; the control address %s fails too: %s", control.Addr(), describe(alt))
	}
}

// describe says in a few words how a probe went.
func describe(p *probe) string {
	switch {
	case !p.setupOK() && p.err == nil:
		return p.mode.verb + ": " + replyText(p.setup)
	case p.dialErr != nil:
		return string(classify(p.dialErr)) + " (" + errorWords(p.dialErr) + ")"
	case p.cmdRep.Code != 0:
		return replyText(p.cmdRep)
	case p.acceptErr != nil:
		return "no connection from the server (" + string(classify(p.acceptErr)) + ")"
	case p.tlsErr != nil:
		return "TLS on the data connection failed: " + errorWords(p.tlsErr) + "; server: " + replyText(p.final)
	case p.err != nil:
		return "control connection: " + errorWords(p.err)
	case p.final.Code/100 != 2:
		return replyText(p.final)
	}
	return "ok"
}

// dataFailure fills a step for a refused set-up command.
func (r *runner) dataFailure(s *Step, p *probe, verb string) {
	s.Status = Failed
	s.Summary = describe(p)
	if p.err != nil {
		s.Fault = "control-lost"
		s.Meaning = "The control connection broke or stopped answering."
		return
	}
	s.Fault = strings.ToLower(verb) + "-refused"
	s.Meaning = "The server refuses " + verb + ": clients in passive mode (the default of nearly all clients) cannot list or transfer."
	s.Action = "Enable passive mode on the server (vsftpd pasv_enable=YES) or on the firewall/ALG in front of it."
}

// dataOutcome fills a passive step from a probe whose set-up was accepted.
func (r *runner) dataOutcome(s *Step, p *probe, kind string) {
	if p.ok() {
		s.Status = OK
		s.Summary = fmt.Sprintf("%s %s: LIST %d bytes", p.mode.verb, p.target, len(p.data))
		if p.tlsVer != 0 {
			s.Summary += fmt.Sprintf(", TLS data connection (resumed: %v)", p.resumed)
		}
		return
	}
	s.Status = Failed
	s.Summary = fmt.Sprintf("%s %s: %s", p.mode.verb, p.target, describe(p))
	port := fmt.Sprint(p.target.Port())
	switch {
	case p.dialErr != nil && classify(p.dialErr) == netTimeout:
		s.Fault = "passive-blocked"
		s.Meaning = fmt.Sprintf("No answer from data port %s within %v: a firewall drops the passive port range. Clients log in but cannot list or transfer.", port, r.o.DataTimeout)
		s.Action = "Open the server's passive port range in every firewall in front of it (ferry: [passive] port_min/port_max; vsftpd: pasv_min_port/pasv_max_port; proftpd: PassivePorts; pure-ftpd: -p), or load the ftp conntrack helper. `ferry firewall` prints such rules."
	case p.dialErr != nil && classify(p.dialErr) == netRefused:
		s.Fault = "passive-refused"
		s.Meaning = "Data port " + port + " is closed (a firewall rejects it, or a NAT does not forward it)."
		s.Action = "Forward and open the passive port range to the server."
	case p.dialErr != nil:
		s.Fault = "passive-unreachable"
		s.Meaning = "The data port cannot be reached from here."
	case p.tlsErr != nil:
		s.Fault = "data-tls"
		s.Meaning = "TLS on the data connection fails: FTPS clients cannot list or transfer."
		s.Action = "Check the server's TLS settings for data connections and any middlebox that inspects them."
	case p.final.Code == ftp.CodeNetProtoNotSupported:
		s.Fault = "data-tls-reuse"
		s.Meaning = "The server refused the data connection's TLS session."
	case p.err != nil:
		s.Fault = "control-lost"
		s.Meaning = "The control connection broke or stopped answering during a listing (a firewall with a short idle timeout, or a crash)."
	default:
		s.Fault = kind + "-transfer"
		s.Meaning = "The data connection opened but the listing failed."
	}
}

// active checks PORT and EPRT.
func (r *runner) active(ctx context.Context) {
	for _, verb := range []string{"PORT", "EPRT"} {
		if ctx.Err() != nil {
			return
		}
		c, err := r.session(ctx)
		if err != nil {
			return
		}
		control := c.remote
		p := r.probeMain(ctx, dataMode{verb: verb}, r.listLine(), nil)
		s := &Step{ID: "active." + strings.ToLower(verb), Title: "Active (" + verb + ")", Facts: map[string]string{}}
		if p.announced.IsValid() {
			s.Facts["announced"] = p.announced.String()
		}
		passiveOK := r.modesOK["PASV"] || r.modesOK["EPSV"] || r.modesOK["PASV (control address)"]
		lvl := Warning
		if !passiveOK {
			lvl = Failed
		}
		switch {
		case p.ok():
			s.Status = OK
			from := p.peer.Port()
			var kind string
			switch {
			case from == 20:
				kind = "port 20 (ftp-data)"
			case from == control.Port()-1:
				kind = fmt.Sprintf("port %d (control port - 1, as RFC 959 says)", from)
			default:
				kind = fmt.Sprintf("port %d (not L-1: firewalls that expect ftp-data from port 20 or L-1 block this)", from)
			}
			s.Facts["source"] = p.peer.String()
			s.Summary = fmt.Sprintf("%s %s: the server connected from %s; LIST %d bytes", verb, p.announced, kind, len(p.data))
			if p.echoed.IsValid() {
				s.Status, s.Fault = Warning, "alg-port-rewrite"
				s.Summary += fmt.Sprintf("; but the server's reply names %s", p.echoed)
				s.Meaning = "A middlebox (an FTP ALG or NAT helper) rewrote the PORT command on its way to the server."
				s.Action = "Harmless while it works; if transfers fail with TLS (which an ALG cannot rewrite), use passive mode."
			}
		case !p.setupOK() && p.err == nil:
			s.Status = lvl
			s.Summary = verb + ": " + replyText(p.setup)
			if verb == "PORT" && !control.Addr().Is4() {
				s.Status, s.Summary = Skipped, "PORT needs IPv4; the control connection is IPv6"
				break
			}
			if foreignRefusal(p.setup) {
				s.Fault = "port-foreign-address"
				s.Meaning = fmt.Sprintf("The server refuses %s because it sees this client at another address: a NAT between here and the server, without an FTP ALG.", p.announced.Addr())
				s.Action = "Use passive mode (the default of most clients), or announce the public address (ferry --active-addr, lftp ftp:port-ipv4)."
			} else {
				s.Fault = "active-refused"
				s.Meaning = "The server refuses active mode (" + verb + "): clients configured for active mode fail; passive mode is not affected."
				s.Action = "Use passive mode, or enable active mode on the server (ferry: disable_active = false in [security]; vsftpd: port_enable=YES)."
			}
		case p.acceptErr != nil || (p.cmdRep.Code != 0 && p.peer == netip.AddrPort{}):
			s.Status, s.Fault = lvl, "active-blocked"
			s.Summary = fmt.Sprintf("%s %s accepted (%s), but %s", verb, p.announced, replyText(p.setup), describe(p))
			s.Meaning = fmt.Sprintf("The server could not connect to %s: a firewall or NAT on the client's side (or an outbound rule at the server) blocks active-mode data connections.", p.announced)
			s.Action = "Use passive mode, or allow incoming connections from the server (port 20 or the control port - 1) to this machine's ports above 1023; behind NAT, active mode needs an FTP ALG."
		default:
			s.Status = lvl
			s.Fault = "active-transfer"
			s.Summary = fmt.Sprintf("%s %s: %s", verb, p.announced, describe(p))
		}
		r.add(s)
	}
}

// foreignRefusal recognises a PORT refused because it names another
// address than the one the server sees.
func foreignRefusal(rep ftp.Reply) bool {
	m := strings.ToLower(rep.Message())
	for _, w := range []string{"your own", "only to", "foreign", "bounce", "illegal port"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
