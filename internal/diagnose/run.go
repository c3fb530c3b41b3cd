// Package diagnose walks through every step of an FTP session from the
// client's side (RFC 959, RFC 2228 and RFC 4217 TLS, RFC 2389 FEAT,
// RFC 2428 EPSV/EPRT, RFC 3659 MLSD/MDTM) and reports each step as ok,
// warning or failed, with what it means and what to do about it.
//
// A step fails when it would stop common clients from logging in,
// listing or transferring in passive mode; what only some clients or
// modes suffer is a warning. See docs/diagnose.md.
package diagnose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// Options configures a diagnosis.
type Options struct {
	// Addr is the server's "host:port".
	Addr string
	// ServerName is the name the certificate must carry (default: Addr's host).
	ServerName string
	// User and Password log in; an empty User logs in as anonymous.
	User, Password string
	// Dir is the folder to list and write in ("" the login folder).
	Dir string
	// TLS says whether to use TLS on the control connection.
	TLS TLSMode
	// RootCAs verifies the server's certificate (nil: the system's roots).
	RootCAs *x509.CertPool
	// ConnectTimeout bounds name resolution and the control connection's
	// set-up (default 10s), CommandTimeout every reply (default 15s),
	// DataTimeout a passive data connection's set-up (default 5s) and
	// ActiveTimeout the wait for the server's active connection (default 10s).
	ConnectTimeout, CommandTimeout, DataTimeout, ActiveTimeout time.Duration
	// ActiveAddr is the local IP announced in PORT/EPRT (default: the
	// control connection's local address).
	ActiveAddr netip.Addr
	// WriteTest uploads, downloads, compares and deletes a small file.
	WriteTest bool
	// Debug receives the control connections' transcripts.
	Debug io.Writer
	// Now returns the current time (tests); default time.Now.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ConnectTimeout, 10*time.Second)
	def(&o.CommandTimeout, 15*time.Second)
	def(&o.DataTimeout, 5*time.Second)
	def(&o.ActiveTimeout, 10*time.Second)
	if o.ServerName == "" {
		o.ServerName, _, _ = net.SplitHostPort(o.Addr)
	}
}

type runner struct {
	o       Options
	rep     *Report
	tlsConf *tls.Config
	noTLS   bool // AUTH TLS was refused
	main    *ctrl
	feats   map[string]string

	pasv    netip.AddrPort // the main session's PASV address
	work    *dataMode      // the first data mode that worked
	modesOK map[string]bool
}

func (r *runner) add(s *Step) *Step { return r.rep.add(s) }

// Run diagnoses the server and returns the report. It never returns nil;
// ctx bounds the whole run.
func Run(ctx context.Context, o Options) *Report {
	o.defaults()
	r := &runner{o: o, rep: &Report{Target: o.Addr}, modesOK: map[string]bool{}}
	defer func() {
		if r.main != nil {
			r.main.quit(ctx)
		}
	}()
	useTLS := o.TLS != TLSOff
	c, err := r.dialSession(ctx, useTLS, true)
	if err != nil {
		if ctx.Err() != nil {
			r.add(&Step{ID: "time", Title: "Time limit", Status: Failed, Summary: "the run's time limit ended the diagnosis"})
		}
		return r.rep
	}
	r.main = c
	r.info(ctx)
	r.passive(ctx)
	r.active(ctx)
	r.tlsData(ctx)
	r.compare(ctx)
	r.listing(ctx)
	if o.WriteTest {
		r.writeTest(ctx)
	}
	if ctx.Err() != nil {
		r.add(&Step{ID: "time", Title: "Time limit", Status: Failed, Summary: "the run's time limit ended the diagnosis before all steps ran"})
	}
	return r.rep
}

// session returns the main session, reconnecting (silently) when an
// earlier probe left it out of step.
func (r *runner) session(ctx context.Context) (*ctrl, error) {
	if r.main != nil {
		return r.main, nil
	}
	c, err := r.dialSession(ctx, r.o.TLS != TLSOff && !r.noTLS, false)
	if err != nil {
		return nil, err
	}
	r.main = c
	return c, nil
}

// drop closes the main session after a probe left it out of step.
func (r *runner) drop() {
	if r.main != nil {
		r.main.conn.Close()
		r.main = nil
	}
}

// info runs FEAT, SYST, PWD and OPTS UTF8.
func (r *runner) info(ctx context.Context) {
	c := r.main
	r.feats = map[string]string{}
	rep, err := c.cmd(ctx, "FEAT")
	if err != nil {
		r.drop()
		r.add(&Step{ID: "feat", Title: "FEAT", Status: Failed, Summary: err.Error()})
		return
	}
	if rep.Code == ftp.CodeSystemStatus && len(rep.Lines) >= 2 {
		var names []string
		for _, l := range rep.Lines[1 : len(rep.Lines)-1] {
			name, arg, _ := strings.Cut(strings.TrimSpace(l), " ")
			if name != "" {
				r.feats[strings.ToUpper(name)] = arg
				names = append(names, strings.ToUpper(name))
			}
		}
		r.add(&Step{ID: "feat", Title: "FEAT", Status: OK, Summary: strings.Join(names, " ")})
	} else {
		r.add(&Step{ID: "feat", Title: "FEAT", Status: Warning, Fault: "no-feat", Summary: replyText(rep),
			Meaning: "The server lists no extensions (RFC 2389): clients cannot discover EPSV, MLSD, SIZE, UTF8 or TLS and fall back to the oldest commands.",
			Action:  "Upgrade or configure the server to answer FEAT."})
	}
	if rep, err := c.cmd(ctx, "SYST"); err == nil {
		s := &Step{ID: "syst", Title: "SYST", Status: OK, Summary: replyText(rep)}
		if rep.Code != ftp.CodeSystemType {
			s.Summary += " (refused; clients guess the listing format)"
		}
		r.add(s)
	}
	if rep, err := c.cmd(ctx, "PWD"); err == nil {
		s := &Step{ID: "pwd", Title: "PWD", Status: OK, Summary: replyText(rep)}
		if rep.Code != ftp.CodePathCreated {
			s.Status, s.Fault = Warning, "pwd"
			s.Meaning = "Clients that build paths from the current folder (most graphical clients) get confused."
		}
		r.add(s)
	}
	if _, ok := r.feats["UTF8"]; ok {
		rep, err := c.cmd(ctx, "OPTS UTF8 ON")
		if err == nil {
			s := &Step{ID: "utf8", Title: "UTF-8", Status: OK, Summary: "offered; OPTS UTF8 ON: " + replyText(rep)}
			if rep.Code/100 != 2 {
				s.Status, s.Fault = Warning, "utf8"
				s.Meaning = "The server lists UTF8 but refuses to switch it on; some clients then garble non-ASCII names."
			}
			r.add(s)
		}
	} else if len(r.feats) > 0 {
		r.add(&Step{ID: "utf8", Title: "UTF-8", Status: Warning, Fault: "no-utf8", Summary: "not in FEAT",
			Meaning: "Clients cannot tell how file names are encoded: names with non-ASCII characters may be garbled.",
			Action:  "Enable UTF-8 file names (vsftpd utf8_filesystem=YES; pure-ftpd --fscharset; ferry always offers it)."})
	}
}

// errorWords turns an error into words without Go package prefixes.
func errorWords(err error) string {
	var fe *ftp.Error
	if errors.As(err, &fe) {
		return fe.Error()
	}
	return err.Error()
}

func (r *runner) dirArg() string {
	if r.o.Dir == "" {
		return ""
	}
	return " " + r.o.Dir
}

func (r *runner) remoteName(base string) string {
	if r.o.Dir == "" {
		return base
	}
	return path.Join(r.o.Dir, base)
}
