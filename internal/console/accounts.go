// Package console is ferry's administration console and REST API, served on
// the admin listener next to /metrics: live sessions and transfers, closing
// sessions, cancelling transfers and banning addresses. See docs/admin.md.
package console

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sync"

	"github.com/BurntSushi/toml"

	"github.com/ferryftp/ferry/password"
)

// Scopes of an API token.
const (
	ScopeRead = "read" // GET requests only
	ScopeFull = "full" // every request
)

// User is an admin account: a name and an argon2id (or bcrypt) hash.
type User struct {
	Name     string `toml:"name"`
	Password string `toml:"password"`
}

// Token is an API token, stored as the SHA-256 of the secret: the secret
// is shown once, when it is made, and is random (256 bits), so a fast hash
// is enough.
type Token struct {
	// Name labels the token in logs and in `ferry admin revoke`.
	Name string `toml:"name"`
	// Admin is the admin account the token acts for.
	Admin string `toml:"admin"`
	// Scope is ScopeRead or ScopeFull.
	Scope string `toml:"scope"`
	// SHA256 is the hex SHA-256 of the token.
	SHA256 string `toml:"sha256"`
}

// Accounts is the content of an admin accounts file.
type Accounts struct {
	Users  []User  `toml:"users"`
	Tokens []Token `toml:"tokens"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// Validate checks every entry: names, hashes, scopes and token owners.
func (a *Accounts) Validate() error {
	users := make(map[string]bool, len(a.Users))
	for i, u := range a.Users {
		if !nameRE.MatchString(u.Name) {
			return fmt.Errorf("users[%d]: name %q: use 1-64 letters, digits, '.', '_', '@' or '-'", i, u.Name)
		}
		if users[u.Name] {
			return fmt.Errorf("users[%d]: %q appears twice", i, u.Name)
		}
		users[u.Name] = true
		if err := password.Check(u.Password); err != nil {
			return fmt.Errorf("users[%d] (%s): password: %w", i, u.Name, err)
		}
	}
	tokens := make(map[string]bool, len(a.Tokens))
	for i, t := range a.Tokens {
		if !nameRE.MatchString(t.Name) {
			return fmt.Errorf("tokens[%d]: name %q: use 1-64 letters, digits, '.', '_', '@' or '-'", i, t.Name)
		}
		if tokens[t.Name] {
			return fmt.Errorf("tokens[%d]: %q appears twice", i, t.Name)
		}
		tokens[t.Name] = true
		if !users[t.Admin] {
			return fmt.Errorf("tokens[%d] (%s): admin %q is not a user of this file", i, t.Name, t.Admin)
		}
		if t.Scope != ScopeRead && t.Scope != ScopeFull {
			return fmt.Errorf("tokens[%d] (%s): scope %q: want %q or %q", i, t.Name, t.Scope, ScopeRead, ScopeFull)
		}
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("tokens[%d] (%s): sha256 must be 64 hexadecimal digits", i, t.Name)
		}
	}
	return nil
}

// ParseAccounts reads an accounts file's content, refusing unknown keys.
func ParseAccounts(data []byte) (*Accounts, error) {
	var a Accounts
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&a)
	if err != nil {
		return nil, err
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("unknown key %q", un[0].String())
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// Encode returns the accounts as TOML.
func (a *Accounts) Encode() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# ferry admin accounts: edit with `ferry admin` (see docs/admin.md).\n")
	if err := toml.NewEncoder(&b).Encode(a); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NewToken returns a fresh random token ("fa_" and 64 hex digits) and its
// hex SHA-256, the only part that is stored.
func NewToken() (token, sum string) {
	var b [32]byte
	rand.Read(b[:])
	token = "fa_" + hex.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is the hex SHA-256 of a token.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// AccountsFile is an accounts file read again at every use (it is small),
// so that `ferry admin add` and `ferry admin revoke` take effect at once. A
// missing file means no accounts. A file that does not parse refuses every
// login (it fails closed) until it is fixed.
type AccountsFile struct {
	path string

	mu   sync.Mutex
	data []byte // the content last parsed
	acc  *Accounts
	err  error
}

// NewAccountsFile returns the accounts file at path.
func NewAccountsFile(path string) *AccountsFile { return &AccountsFile{path: path} }

// Path is the file's path.
func (f *AccountsFile) Path() string { return f.path }

// Load returns the accounts as the file holds them now.
func (f *AccountsFile) Load() (*Accounts, error) {
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Accounts{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admin accounts: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.acc != nil || f.err != nil {
		if bytes.Equal(data, f.data) {
			return f.acc, f.err
		}
	}
	f.data = data
	f.acc, f.err = ParseAccounts(data)
	if f.err != nil {
		f.err = fmt.Errorf("admin accounts %s: %w", f.path, f.err)
	}
	return f.acc, f.err
}
