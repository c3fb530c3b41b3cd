// Package password hashes and verifies login passwords.
//
// New hashes are argon2id (RFC 9106) in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with the salt and hash in unpadded standard base64. The parameters follow
// the OWASP Password Storage Cheat Sheet's first argon2id choice: 19 MiB of
// memory, 2 passes, 1 lane, a 16-byte random salt and a 32-byte tag. RFC 9106's
// second recommendation (64 MiB, t=3, p=4) is about five times the work and
// would let a burst of logins exhaust a small server's memory and CPU; the
// OWASP choice keeps one verification near 20-40 ms on one core.
//
// Verify also accepts bcrypt hashes ($2a$, $2b$, $2y$) so existing user
// databases can be imported. Parameters read from a stored hash are bounded
// (see the Max constants) so a hostile or mistaken configuration cannot make
// one login cost gigabytes of memory or minutes of CPU.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters used by Hash for new argon2id hashes.
const (
	// Memory is the argon2id memory cost in KiB (19 MiB).
	Memory = 19 * 1024
	// Time is the argon2id number of passes.
	Time = 2
	// Threads is the argon2id degree of parallelism (lanes).
	Threads = 1
	// SaltLen is the length of the random salt in bytes.
	SaltLen = 16
	// KeyLen is the length of the derived tag in bytes.
	KeyLen = 32
)

// Bounds on parameters accepted from a stored hash by Verify and Check.
const (
	// MaxMemory is the largest accepted argon2id memory cost in KiB (1 GiB).
	MaxMemory = 1 << 20
	// MaxTime is the largest accepted argon2id number of passes.
	MaxTime = 100
	// MaxThreads is the largest accepted argon2id degree of parallelism.
	MaxThreads = 64
	// MaxBcryptCost is the largest accepted bcrypt cost (about 4 s per check).
	MaxBcryptCost = 16
)

const (
	minSalt = 8    // RFC 9106 §3.1: at least 8 bytes
	maxSalt = 1024 //
	minKey  = 16   // shorter tags are too weak to accept
	maxKey  = 1024 //
)

// ErrMalformed is wrapped by every error about a hash that cannot be parsed
// or whose parameters are out of bounds.
var ErrMalformed = errors.New("malformed password hash")

// Hash returns an argon2id PHC string for pw with a fresh random salt.
func Hash(pw string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	p := argon2Params{memory: Memory, time: Time, threads: Threads, salt: salt}
	p.key = argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, KeyLen)
	return p.encode(), nil
}

// Verify reports whether pw matches encoded, an argon2id PHC string or a
// bcrypt hash. A wrong password yields false and a nil error; an error
// (wrapping ErrMalformed) means encoded is not a usable hash. As in every
// bcrypt implementation, only the first 72 bytes of pw count against a
// bcrypt hash; argon2id uses all of it.
func Verify(encoded, pw string) (bool, error) {
	switch {
	case encoded == "":
		return false, fmt.Errorf("%w: empty", ErrMalformed)
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, err := parseArgon2(encoded)
		if err != nil {
			return false, err
		}
		key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		return subtle.ConstantTimeCompare(key, p.key) == 1, nil
	case isBcrypt(encoded):
		if err := checkBcrypt(encoded); err != nil {
			return false, err
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformed, err)
		}
	default:
		return false, fmt.Errorf("%w: unsupported scheme (want $argon2id$ or bcrypt $2a$, $2b$, $2y$)", ErrMalformed)
	}
}

// Check reports whether encoded is a hash Verify can use, without doing the
// expensive work of a verification. Configuration loaders call it so a typo
// is reported at startup rather than as a failed login.
func Check(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, err := parseArgon2(encoded)
		return err
	case isBcrypt(encoded):
		return checkBcrypt(encoded)
	case encoded == "":
		return fmt.Errorf("%w: empty", ErrMalformed)
	default:
		return fmt.Errorf("%w: unsupported scheme (want $argon2id$ or bcrypt $2a$, $2b$, $2y$)", ErrMalformed)
	}
}

// dummy is an argon2id hash, with Hash's parameters, of a random password
// nobody knows. It must stay in step with the constants above; a test checks.
const dummy = "$argon2id$v=19$m=19456,t=2,p=1$ZmVycnktZHVtbXktc2FsdA$omiLx+KrXJgyoK3oVjS6/X3LWkJX1M5uQF7OX/gL5AQ"

// Dummy returns a fixed, valid argon2id hash with the same parameters as
// Hash. Verifying any password against it fails but costs the same as a real
// check, so an authenticator can spend equal time on unknown user names.
func Dummy() string { return dummy }

type argon2Params struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (p argon2Params) encode() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// parseArgon2 parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash" and bounds its
// parameters.
func parseArgon2(s string) (argon2Params, error) {
	var p argon2Params
	bad := func(format string, args ...any) (argon2Params, error) {
		return argon2Params{}, fmt.Errorf("%w: argon2id: "+format, append([]any{ErrMalformed}, args...)...)
	}
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=19$m=M,t=T,p=P$salt$hash")
	}
	if parts[2] != "v=19" {
		return bad("unsupported version %q (want v=19)", parts[2])
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return bad("bad parameter list %q", parts[3])
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return bad("bad value for %s: %q", k, v)
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > MaxThreads {
				return bad("p=%d exceeds the limit of %d", n, MaxThreads)
			}
			p.threads = uint8(n)
		default:
			return bad("unknown parameter %q", k)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return bad("parameters m, t and p are required, got %q", parts[3])
	}
	switch {
	case p.threads < 1:
		return bad("p must be at least 1")
	case p.time < 1 || p.time > MaxTime:
		return bad("t=%d out of range 1..%d", p.time, MaxTime)
	case p.memory < 8*uint32(p.threads) || p.memory > MaxMemory:
		return bad("m=%d out of range %d..%d KiB", p.memory, 8*uint32(p.threads), MaxMemory)
	}
	var err error
	if p.salt, err = decodeB64(parts[4]); err != nil {
		return bad("salt: %v", err)
	}
	if len(p.salt) < minSalt || len(p.salt) > maxSalt {
		return bad("salt is %d bytes, want %d..%d", len(p.salt), minSalt, maxSalt)
	}
	if p.key, err = decodeB64(parts[5]); err != nil {
		return bad("hash: %v", err)
	}
	if len(p.key) < minKey || len(p.key) > maxKey {
		return bad("hash is %d bytes, want %d..%d", len(p.key), minKey, maxKey)
	}
	return p, nil
}

// decodeB64 decodes unpadded standard base64 as the PHC format specifies,
// tolerating trailing '=' padding that some encoders add.
func decodeB64(s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, errors.New("invalid base64")
	}
	return b, nil
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// checkBcrypt validates the shape and cost of a bcrypt hash:
// "$2b$" + two-digit cost + "$" + 53 characters of bcrypt base64.
func checkBcrypt(s string) error {
	const bcryptLen = 60
	if len(s) != bcryptLen || s[6] != '$' {
		return fmt.Errorf("%w: bcrypt: want 60 characters like $2b$10$<53 characters>", ErrMalformed)
	}
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil {
		return fmt.Errorf("%w: bcrypt: %v", ErrMalformed, err)
	}
	if cost > MaxBcryptCost {
		return fmt.Errorf("%w: bcrypt: cost %d exceeds the limit of %d", ErrMalformed, cost, MaxBcryptCost)
	}
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for _, c := range s[7:] {
		if !strings.ContainsRune(alphabet, c) {
			return fmt.Errorf("%w: bcrypt: invalid character %q", ErrMalformed, c)
		}
	}
	return nil
}
