package firewall

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// IPFilter and pf do not run on Linux, so their output is checked against
// the documented grammar instead: ipf(5) and ipnat(5) of IPFilter 4/5 (as
// in FreeBSD, NetBSD and illumos) and pf.conf(5) of OpenBSD. The checkers
// below accept exactly the subset of each grammar the generator may write,
// token by token, and reject anything else.

// tokens is a cursor over a rule's words.
type tokens struct {
	w []string
	i int
}

func (t *tokens) peek() string {
	if t.i < len(t.w) {
		return t.w[t.i]
	}
	return ""
}

func (t *tokens) next() string { s := t.peek(); t.i++; return s }

func (t *tokens) accept(s string) bool {
	if t.peek() == s {
		t.i++
		return true
	}
	return false
}

func (t *tokens) expect(s string) error {
	if got := t.next(); got != s {
		return fmt.Errorf("want %q, got %q", s, got)
	}
	return nil
}

func (t *tokens) end() error {
	if t.i < len(t.w) {
		return fmt.Errorf("trailing %q", strings.Join(t.w[t.i:], " "))
	}
	return nil
}

func portNum(s string, min int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	return n, nil
}

var (
	ifName   = regexp.MustCompile(`^[a-z]+[0-9]+$`)
	hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
)

// addr checks an address: "any", an IP, "ip/bits" or a host name.
func addr(s string) error {
	if s == "any" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return nil
	}
	if hostName.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%q is not an address", s)
}

// ipfPort checks ipf(5)'s port-comp | port-range after "port".
func ipfPort(t *tokens) error {
	a := t.next()
	switch a {
	case "=", "!=", "<", ">", "<=", ">=":
		_, err := portNum(t.next(), 0)
		return err
	}
	lo, err := portNum(a, 0)
	if err != nil {
		return err
	}
	op := t.next()
	hi, err := portNum(t.next(), 0)
	if err != nil {
		return err
	}
	if op != "><" && op != "<>" {
		return fmt.Errorf("%q is not a range operator", op)
	}
	if op == "><" && hi-lo < 2 {
		return fmt.Errorf("empty range %d >< %d", lo, hi)
	}
	return nil
}

// checkIpfRule checks one ipf.conf rule:
//
//	action in-out [quick] [on ifname] [proto tcp] ("all" | from object to object) [flags S/SA] [keep state]
//	object = addr [port ...]
func checkIpfRule(line string) error {
	t := &tokens{w: strings.Fields(line)}
	if a := t.next(); a != "pass" && a != "block" {
		return fmt.Errorf("action %q", a)
	}
	if d := t.next(); d != "in" && d != "out" {
		return fmt.Errorf("direction %q", d)
	}
	t.accept("quick")
	if t.accept("on") {
		if n := t.next(); !ifName.MatchString(n) {
			return fmt.Errorf("interface %q", n)
		}
	}
	if t.accept("all") {
		return t.end()
	}
	if t.accept("proto") {
		if err := t.expect("tcp"); err != nil {
			return err
		}
	}
	for _, kw := range []string{"from", "to"} {
		if err := t.expect(kw); err != nil {
			return err
		}
		if err := addr(t.next()); err != nil {
			return err
		}
		if t.accept("port") {
			if err := ipfPort(t); err != nil {
				return err
			}
		}
	}
	if t.accept("flags") {
		if err := t.expect("S/SA"); err != nil {
			return err
		}
	}
	if t.accept("keep") {
		if err := t.expect("state"); err != nil {
			return err
		}
	}
	return t.end()
}

// checkIpnatRule checks one ipnat.conf rule:
//
//	rdr ifname ipmask "port" number ["-" number] "->" ip "port" number "tcp"
//	map ifname ipmask "->" ipmask ["proxy" "port" name name/tcp]
func checkIpnatRule(line string) error {
	t := &tokens{w: strings.Fields(line)}
	kind := t.next()
	if kind != "rdr" && kind != "map" {
		return fmt.Errorf("rule %q", kind)
	}
	if n := t.next(); !ifName.MatchString(n) {
		return fmt.Errorf("interface %q", n)
	}
	mask := func() error {
		s := t.next()
		if s == "0/32" || s == "0/0" {
			return nil
		}
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q is not ip/bits", s)
		}
		return nil
	}
	if err := mask(); err != nil {
		return err
	}
	if kind == "rdr" {
		if err := t.expect("port"); err != nil {
			return err
		}
		lo, hi, ok := strings.Cut(t.next(), "-")
		if _, err := portNum(lo, 1); err != nil {
			return err
		}
		if ok {
			if _, err := portNum(hi, 1); err != nil {
				return err
			}
		}
		if err := t.expect("->"); err != nil {
			return err
		}
		if _, err := netip.ParseAddr(t.next()); err != nil {
			return err
		}
		if err := t.expect("port"); err != nil {
			return err
		}
		if _, err := portNum(t.next(), 1); err != nil {
			return err
		}
		if err := t.expect("tcp"); err != nil {
			return err
		}
		return t.end()
	}
	if err := t.expect("->"); err != nil {
		return err
	}
	if err := mask(); err != nil {
		return err
	}
	if t.accept("proxy") {
		for _, w := range []string{"port", "ftp", "ftp/tcp"} {
			if err := t.expect(w); err != nil {
				return err
			}
		}
	}
	return t.end()
}

// pfPort checks pf.conf(5)'s port clause after "port": a number, "op
// number" or "lo:hi".
func pfPort(t *tokens) error {
	a := t.next()
	switch a {
	case "=", "!=", "<", ">", "<=", ">=":
		_, err := portNum(t.next(), 0)
		return err
	}
	if lo, hi, ok := strings.Cut(a, ":"); ok {
		l, err := portNum(lo, 0)
		if err != nil {
			return err
		}
		h, err := portNum(hi, 0)
		if err != nil {
			return err
		}
		if l > h {
			return fmt.Errorf("range %s", a)
		}
		return nil
	}
	_, err := portNum(a, 0)
	return err
}

// checkPfRule checks one pf.conf line:
//
//	macro = "string"
//	set skip on ifname
//	action [in|out] [quick] [on $macro] [proto tcp] ("all" | [from host [port]] [to host [port]])
//	       [flags S/SA] [keep state] [rdr-to ip] [nat-to ip]
//	match out on $macro from host nat-to ip
func checkPfRule(line string) error {
	if m := regexp.MustCompile(`^([a-z_]+) = "([a-z]+[0-9]+)"$`).FindStringSubmatch(line); m != nil {
		return nil
	}
	t := &tokens{w: strings.Fields(line)}
	if t.accept("set") {
		for _, w := range []string{"skip", "on", "lo"} {
			if err := t.expect(w); err != nil {
				return err
			}
		}
		return t.end()
	}
	if a := t.next(); a != "pass" && a != "block" && a != "match" {
		return fmt.Errorf("action %q", a)
	}
	if !t.accept("in") {
		t.accept("out")
	}
	t.accept("quick")
	if t.accept("on") {
		if n := t.next(); n != "$ext_if" {
			return fmt.Errorf("interface %q", n)
		}
	}
	if t.accept("all") {
		return t.end()
	}
	if t.accept("proto") {
		if err := t.expect("tcp"); err != nil {
			return err
		}
	}
	for _, kw := range []string{"from", "to"} {
		if !t.accept(kw) {
			continue
		}
		if err := addr(t.next()); err != nil {
			return err
		}
		if t.accept("port") {
			if err := pfPort(t); err != nil {
				return err
			}
		}
	}
	if t.accept("flags") {
		if err := t.expect("S/SA"); err != nil {
			return err
		}
	}
	if t.accept("keep") {
		if err := t.expect("state"); err != nil {
			return err
		}
	}
	for _, kw := range []string{"rdr-to", "nat-to"} {
		if t.accept(kw) {
			if err := addr(t.next()); err != nil {
				return err
			}
		}
	}
	return t.end()
}

// ruleLines returns the rule lines of out, and the rules shown in comments
// ("#   rule") when commented is set.
func ruleLines(out string, commented bool) []string {
	var rs []string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, "#   ") && commented:
			s := strings.TrimPrefix(l, "#   ")
			if w, _, _ := strings.Cut(s, " "); w == "pass" || w == "match" || w == "map" || w == "rdr" {
				rs = append(rs, s)
			}
		case strings.HasPrefix(l, "#"):
		default:
			rs = append(rs, l)
		}
	}
	return rs
}

func TestBSDOutputFollowsTheDocumentedGrammar(t *testing.T) {
	check := map[string]func(string) error{"ipf": checkIpfRule, "ipnat": checkIpnatRule, "pf": checkPfRule}
	for _, c := range cases {
		for format, fn := range check {
			t.Run(c.name+" as "+format, func(t *testing.T) {
				out, _, err := Generate(c.in(), format)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range ruleLines(out, true) {
					if err := fn(l); err != nil {
						t.Errorf("%q: %v", l, err)
					}
				}
			})
		}
	}
}

// The checkers must reject what the grammars reject, or the test above
// proves nothing.
func TestGrammarCheckersRejectBadRules(t *testing.T) {
	for _, tc := range []struct {
		fn   func(string) error
		line string
	}{
		{checkIpfRule, "pass in quick on em0 proto tcp from any to any port 30000:30100 flags S/SA keep state"},
		{checkIpfRule, "pass in quick on em0 proto tcp from any to any port 29999 >< 30000 keep state"},
		{checkIpfRule, "pass in quick on em0 proto tcp from any to any port = 70000"},
		{checkIpfRule, "allow in on em0 all"},
		{checkIpfRule, "pass in on em0 proto tcp to any port = 21"},
		{checkIpnatRule, "rdr em0 203.0.113.7 port 21 -> 10.0.0.1 port 21 tcp"},
		{checkIpnatRule, "rdr em0 203.0.113.7/32 port 21 -> 10.0.0.1 port 21"},
		{checkIpnatRule, "map em0 10.0.0.0/8 -> 0/32 proxy ftp"},
		{checkPfRule, "pass in on $ext_if proto tcp to any port 30000-30100"},
		{checkPfRule, "pass in on em0 proto tcp to any port 21"},
		{checkPfRule, "pass in on $ext_if proto tcp to any port 21 keep"},
	} {
		if err := tc.fn(tc.line); err == nil {
			t.Errorf("accepted %q", tc.line)
		}
	}
}
