package diagnose

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpclient"
)

// tlsData checks whether data connections must resume the control
// connection's TLS session.
func (r *runner) tlsData(ctx context.Context) {
	if ctx.Err() != nil || r.work == nil {
		return
	}
	c, err := r.session(ctx)
	if err != nil || !c.protP {
		return
	}
	fresh := c.tlsConf.Clone()
	fresh.ClientSessionCache = nil
	p := r.run(ctx, c, *r.work, r.listLine(), nil, fresh)
	if !p.ok() {
		r.drop() // vsftpd ends the session after a refused data connection
	}
	s := &Step{ID: "tls.reuse", Title: "TLS session reuse"}
	switch {
	case p.ok():
		s.Status = OK
		s.Summary = "not required: a data connection with a new TLS session works (" + p.mode.String() + ")"
	case p.final.Code == ftp.CodeNetProtoNotSupported || p.tlsErr != nil || p.final.Code/100 == 4 || p.dropped && !p.resumed && p.err != nil:
		s.Status, s.Fault = Warning, "tls-reuse-required"
		s.Summary = "required: a data connection without session resumption got " + describe(p)
		if p.dropped && p.final.Code == 0 {
			s.Summary = "required: the server closed a data connection that did not resume the TLS session and went on waiting for one that does"
		}
		s.Meaning = "Data connections must resume the control connection's TLS session (a defence against stolen data connections). Clients that do not resume fail with 522 or 425: Python's ftplib, and older or minimal FTPS libraries. FileZilla, WinSCP, lftp, curl, rclone and ferry resume."
		s.Action = "Nothing if your users' clients resume sessions; otherwise relax it (vsftpd require_ssl_reuse=NO; ferry [tls] session_reuse = \"relaxed\")."
	default:
		s.Status = Skipped
		s.Summary = "inconclusive: " + describe(p)
	}
	r.add(s)
}

// compare opens a second session with the other TLS setting and compares
// its PASV reply and passive data connection with the main session's: a
// firewall helper or ALG reads and rewrites plain control connections
// but cannot see inside TLS.
func (r *runner) compare(ctx context.Context) {
	if ctx.Err() != nil || r.o.TLS == TLSImplicit || r.main == nil && r.work == nil {
		return
	}
	mainTLS := r.o.TLS != TLSOff && !r.noTLS
	if !mainTLS {
		if _, ok := r.feats["AUTH"]; !ok || r.noTLS {
			return
		}
	}
	c, err := r.dialSession(ctx, !mainTLS, false)
	var tr errTLSRequired
	if errors.As(err, &tr) {
		r.add(&Step{ID: "tls.required", Title: "Plain FTP", Status: OK,
			Summary: "refused: " + replyText(tr.rep) + " (the server requires TLS)",
			Meaning: "Clients without FTPS cannot log in; that is the server's policy."})
		return
	}
	if err != nil {
		return
	}
	defer c.quit(ctx)
	other := r.run(ctx, c, dataMode{verb: "PASV"}, r.listLine(), nil, r.dataTLS(c))
	tlsName := map[bool]string{true: "TLS", false: "plain"}
	s := &Step{ID: "alg", Title: "ALG / firewall helper", Status: OK}
	mainOK := r.modesOK["PASV"]
	switch {
	case !r.pasv.IsValid() || !other.announced.IsValid():
		s.Status = Skipped
		s.Summary = "no PASV address to compare"
	case r.pasv.Addr() != other.announced.Addr():
		s.Status, s.Fault = Warning, "alg-pasv-rewrite"
		s.Summary = fmt.Sprintf("PASV announces %s in %s sessions but %s in %s sessions", r.pasv.Addr(), tlsName[mainTLS], other.announced.Addr(), tlsName[!mainTLS])
		s.Meaning = "A middlebox (an FTP ALG or conntrack NAT helper) rewrites PASV replies in plain sessions; it cannot under TLS, so FTPS clients see the server's own, unrewritten address."
		s.Action = "Set the server's public address itself (" + natSettings + ") rather than relying on the ALG."
	case mainOK != other.ok() && !mainTLS == !other.ok():
		// Plain works, TLS does not.
		st := Warning
		if !mainTLS {
			st = Failed
		}
		s.Status, s.Fault = st, "alg-tls-blind"
		s.Summary = "passive data connections work in plain sessions but not under TLS"
		s.Meaning = "The firewall opens passive ports only by reading the control connection (a conntrack ftp helper or ALG), which it cannot do when the control connection is encrypted."
		s.Action = "Open the passive port range explicitly instead of relying on the helper (`ferry firewall` prints such rules)."
	default:
		s.Summary = fmt.Sprintf("%s and %s sessions get the same PASV address %s", tlsName[mainTLS], tlsName[!mainTLS], r.pasv.Addr())
	}
	r.add(s)
}

// listing checks LIST parsing and MLSD.
func (r *runner) listing(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if r.work == nil {
		r.add(&Step{ID: "list", Title: "Listing", Status: Skipped, Summary: "no working data connection"})
		return
	}
	p := r.probeMain(ctx, *r.work, r.listLine(), nil)
	s := &Step{ID: "list", Title: "LIST parse"}
	if !p.ok() {
		s.Status, s.Summary = Failed, "LIST over "+p.mode.String()+": "+describe(p)
		r.add(s)
		return
	}
	var lines, parsed int
	var bad string
	now := r.o.now()
	for _, l := range strings.Split(string(p.data), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines++
		if _, err := ftp.ParseListLine(l, now); err == nil || errors.Is(err, ftp.ErrListSkip) {
			parsed++
		} else if bad == "" {
			bad = l
		}
	}
	s.Status = OK
	s.Summary = fmt.Sprintf("%d of %d lines understood", parsed, lines)
	if lines == 0 {
		s.Summary = "empty folder (nothing to parse)"
	}
	if parsed < lines {
		s.Status, s.Fault = Warning, "list-format"
		s.Summary += fmt.Sprintf("; first unknown line: %q", bad)
		s.Meaning = "Clients that parse LIST output (all of them, when MLSD is missing) may show these entries wrongly or not at all."
		s.Action = "Offer MLSD, or a Unix-style (ls -l) LIST format."
	}
	r.add(s)
	if _, ok := r.feats["MLST"]; !ok {
		r.add(&Step{ID: "mlsd", Title: "MLSD", Status: Warning, Fault: "no-mlsd", Summary: "not offered (no MLST in FEAT)",
			Meaning: "Clients fall back to parsing LIST: times are less precise (minutes, local time) and unusual formats may not parse; mirroring is less reliable.",
			Action:  "Use a server that implements RFC 3659 MLSD (ferry, pure-ftpd and proftpd do; vsftpd does not)."})
		return
	}
	m := r.probeMain(ctx, *r.work, "MLSD"+r.dirArg(), nil)
	ms := &Step{ID: "mlsd", Title: "MLSD"}
	if !m.ok() {
		ms.Status, ms.Fault, ms.Summary = Warning, "mlsd-broken", "offered but failed: "+describe(m)
		ms.Meaning = "Clients that prefer MLSD may fail to list."
		r.add(ms)
		return
	}
	var n, bad2 int
	for _, l := range strings.Split(string(m.data), "\n") {
		if l = strings.TrimRight(l, "\r"); l == "" {
			continue
		}
		n++
		if _, err := ftp.ParseMLSxEntry(l); err != nil {
			bad2++
		}
	}
	ms.Status, ms.Summary = OK, fmt.Sprintf("%d entries, all well-formed", n)
	if bad2 > 0 {
		ms.Status, ms.Fault = Warning, "mlsd-format"
		ms.Summary = fmt.Sprintf("%d of %d entries malformed", bad2, n)
	}
	r.add(ms)
}

// writeTest uploads, downloads, compares and deletes a small file with
// ftpclient, over the first data mode that worked, and compares the
// server's clock (MDTM of the new file) with ours.
func (r *runner) writeTest(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	s := &Step{ID: "write", Title: "Write test"}
	if r.work == nil {
		s.Status, s.Summary = Skipped, "no working data connection"
		r.add(s)
		return
	}
	opts := ftpclient.Options{User: r.o.User, Password: r.o.Password, Timeout: r.o.CommandTimeout, Debug: r.o.Debug}
	if opts.User == "" {
		opts.Password = "ferry-diagnose@"
	}
	if r.o.TLS == TLSImplicit || (r.o.TLS != TLSOff && !r.noTLS) {
		opts.TLS = r.tlsConfig().Clone()
		opts.ImplicitTLS = r.o.TLS == TLSImplicit
	}
	switch w := *r.work; {
	case w.verb == "PASV" && w.useControl:
		opts.DisableEPSV, opts.PASVAddr = true, ftpclient.PASVAddrUseControl
	case w.verb == "PASV":
		opts.DisableEPSV, opts.PASVAddr = true, ftpclient.PASVAddrTrust
	case w.verb == "PORT":
		opts.Active, opts.DisableEPSV = true, true
	case w.verb == "EPRT":
		opts.Active = true
	}
	if r.o.ActiveAddr.IsValid() {
		opts.ActiveAddr = r.o.ActiveAddr.String()
	}
	c, err := ftpclient.Dial(ctx, r.o.Addr, opts)
	if err != nil {
		s.Status, s.Summary = Failed, "connect: "+errorWords(err)
		r.add(s)
		return
	}
	defer c.Quit(ctx)
	data := make([]byte, 64<<10)
	rand.Read(data)
	var rb [6]byte
	rand.Read(rb[:])
	name := r.remoteName(".ferry-diagnose-" + hex.EncodeToString(rb[:]) + ".tmp")
	sum := sha256.Sum256(data)
	before := time.Now()
	if _, err := c.Stor(ctx, name, 0, bytes.NewReader(data)); err != nil {
		s.Status, s.Fault, s.Summary = Warning, "upload", "upload of "+name+": "+errorWords(err)
		s.Meaning = "Uploads fail (no write permission, a full disk, or a data-connection problem during STOR)."
		r.add(s)
		return
	}
	after := time.Now()
	var got bytes.Buffer
	if _, err := c.Retr(ctx, name, 0, &got); err != nil {
		s.Status, s.Fault, s.Summary = Failed, "download", "download of "+name+": "+errorWords(err)
		c.Delete(ctx, name)
		r.add(s)
		return
	}
	if sha256.Sum256(got.Bytes()) != sum {
		s.Status, s.Fault = Failed, "corrupt"
		s.Summary = fmt.Sprintf("uploaded %d bytes but downloaded %d bytes with another SHA-256", len(data), got.Len())
		s.Meaning = "Files are damaged in transit or storage (ASCII conversion, a faulty proxy, a full disk)."
		c.Delete(ctx, name)
		r.add(s)
		return
	}
	s.Status = OK
	s.Summary = fmt.Sprintf("upload, download and SHA-256 compare of %d bytes over %s", len(data), r.work)
	cs := &Step{ID: "clock", Title: "Server clock"}
	if mt, err := c.ModTime(ctx, name); err != nil {
		cs.Status, cs.Summary = Skipped, "MDTM: "+errorWords(err)
	} else {
		// MDTM has whole seconds; the upload ended between before and after.
		mid := before.Add(after.Sub(before) / 2)
		off := mt.Sub(mid).Round(time.Second)
		cs.Facts = map[string]string{"offset_seconds": fmt.Sprint(int64(off / time.Second))}
		cs.Status, cs.Summary = OK, fmt.Sprintf("MDTM of the uploaded file is %s from this machine's clock", signed(off))
		if off > 2*time.Minute || off < -2*time.Minute {
			cs.Status, cs.Fault = Warning, "clock-offset"
			cs.Meaning = "The server's clock (or its MDTM time zone) is off: mirror tools that compare times (--only-newer) transfer too much or too little."
			cs.Action = "Run NTP on the server; MDTM must be UTC (vsftpd use_localtime=NO)."
		}
	}
	if err := c.Delete(ctx, name); err != nil {
		s.Status, s.Fault = Warning, "delete"
		s.Summary += "; delete failed: " + errorWords(err)
	}
	r.add(s)
	r.add(cs)
}

func signed(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).String()
	}
	return "+" + d.String()
}
