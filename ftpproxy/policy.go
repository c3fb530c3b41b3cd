package ftpproxy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ferryftp/ferry/ftp"
)

// Rule is one command policy rule. A rule matches a command when every
// non-empty field matches; the first matching rule decides.
type Rule struct {
	// Action is "allow" or "deny".
	Action string
	// Commands are verbs ("STOR", "SITE"); empty matches every verb.
	Commands []string
	// Args are shell patterns (ftp.MatchGlob, compared in upper case) for
	// the argument, e.g. "EXEC*" with command SITE. Empty matches any
	// argument.
	Args []string
	// Users are shell patterns for the user name given to USER (without an
	// explicit-mode "@host" part). Before USER the name is "".
	Users []string
	// Sources are client networks ("192.0.2.0/24", "2001:db8::/32").
	Sources []string

	deny    bool
	sources []netip.Prefix
}

func (r *Rule) compile() error {
	switch strings.ToLower(r.Action) {
	case "allow":
		r.deny = false
	case "deny":
		r.deny = true
	default:
		return fmt.Errorf("action %q (want allow or deny)", r.Action)
	}
	r.sources = r.sources[:0]
	for _, s := range r.Sources {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return fmt.Errorf("source %q: %v", s, err)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.sources = append(r.sources, p.Masked())
	}
	for i, c := range r.Commands {
		r.Commands[i] = strings.ToUpper(c)
	}
	return nil
}

func (r *Rule) matches(verb, arg, user string, src netip.Addr) bool {
	if len(r.Commands) > 0 && !anyEqual(r.Commands, verb) {
		return false
	}
	if len(r.Args) > 0 {
		ua := strings.ToUpper(arg)
		ok := false
		for _, p := range r.Args {
			if ftp.MatchGlob(strings.ToUpper(p), ua) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(r.Users) > 0 {
		ok := false
		for _, p := range r.Users {
			if ftp.MatchGlob(p, user) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(r.sources) > 0 {
		ok := false
		for _, p := range r.sources {
			if p.Contains(src.Unmap()) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func anyEqual(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// allowed applies the rules to a command; the result is true when no rule
// matches.
func allowed(rules []Rule, verb, arg, user string, src netip.Addr) bool {
	for i := range rules {
		if rules[i].matches(verb, arg, user, src) {
			return !rules[i].deny
		}
	}
	return true
}
