package ftpserver

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/ferryftp/ferry/storage"
)

// Perms is the set of operations a logged-in user may perform.
type Perms uint8

// Permission bits.
const (
	PermList   Perms = 1 << iota // LIST, NLST, MLSD, MLST, STAT path, SIZE, MDTM, CWD
	PermRead                     // RETR, HASH
	PermWrite                    // STOR, STOU, APPE, SITE CHMOD, MFMT
	PermDelete                   // DELE, RMD
	PermRename                   // RNFR, RNTO
	PermMkdir                    // MKD

	// PermReadOnly is what a read-only user gets.
	PermReadOnly = PermList | PermRead
	// PermAll grants every operation.
	PermAll = PermList | PermRead | PermWrite | PermDelete | PermRename | PermMkdir
)

var permNames = []struct {
	p    Perms
	name string
}{
	{PermList, "list"}, {PermRead, "read"}, {PermWrite, "write"},
	{PermDelete, "delete"}, {PermRename, "rename"}, {PermMkdir, "mkdir"},
}

// Has reports whether every bit of q is in p.
func (p Perms) Has(q Perms) bool { return p&q == q }

// String lists the permission names, comma separated.
func (p Perms) String() string {
	var names []string
	for _, n := range permNames {
		if p.Has(n.p) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// ParsePerms turns names such as "list", "read", "write", "delete",
// "rename", "mkdir" (or "all") into Perms.
func ParsePerms(names []string) (Perms, error) {
	var p Perms
outer:
	for _, s := range names {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "all" || s == "*" {
			p |= PermAll
			continue
		}
		for _, n := range permNames {
			if n.name == s {
				p |= n.p
				continue outer
			}
		}
		return 0, errors.New("unknown permission " + `"` + s + `"` + " (want list, read, write, delete, rename, mkdir or all)")
	}
	return p, nil
}

// Identity is what a successful login yields: who the user is, which files
// they see and what they may do with them. It travels with the session.
type Identity struct {
	User  string
	FS    storage.FS
	Perms Perms
	// Anonymous marks an anonymous (guest) login.
	Anonymous bool
	// RequireTLS refuses the login unless the control connection is
	// protected by TLS (the per-user form of TLSRequired).
	RequireTLS bool
	// MaxSessions caps this user's concurrent sessions; 0 means the server's
	// PerUserSessions option.
	MaxSessions int
}

// LoginInfo describes a login attempt to an Authenticator.
type LoginInfo struct {
	User     string
	Password string
	// Remote is the client's address on the control connection.
	Remote netip.AddrPort
	// SessionID is the id the server logs for this session.
	SessionID string
}

// Authenticator checks credentials. It returns ErrAuthFailed (or any error
// wrapping it) for wrong credentials and unknown users alike; other errors
// are reported to the client as a temporary failure (421) and logged.
type Authenticator interface {
	Authenticate(ctx context.Context, login LoginInfo) (*Identity, error)
}

// ErrAuthFailed is returned by an Authenticator for bad credentials.
var ErrAuthFailed = errors.New("ftpserver: authentication failed")

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(ctx context.Context, login LoginInfo) (*Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, login LoginInfo) (*Identity, error) {
	return f(ctx, login)
}
