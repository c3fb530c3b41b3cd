package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// reference is the argon2id vector from the reference implementation
// (phc-winner-argon2, src/test.c): password "password", salt "somesalt".
const reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

// bcryptSecret is a cost-4 bcrypt hash of "secret".
const bcryptSecret = "$2a$04$sZN882ChJ0hedSRuliXQG.g9WmuLG8uBtZ8Vcvw76iR.KKLh3qKuy"

func TestHashThenVerify(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash = %q, want the documented parameters", h)
	}
	for _, tc := range []struct {
		name string
		pw   string
		want bool
	}{
		{"the same password matches", "correct horse", true},
		{"a different password does not match", "correct horsE", false},
		{"an empty password does not match", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(h, tc.pw)
			if err != nil || ok != tc.want {
				t.Fatalf("Verify = %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
}

func TestHashUsesAFreshSaltEachTime(t *testing.T) {
	a, _ := Hash("pw")
	b, _ := Hash("pw")
	if a == b {
		t.Fatal("two hashes of the same password are equal")
	}
}

func TestVerify(t *testing.T) {
	b2b := "$2b$" + bcryptSecret[4:]
	b2y := "$2y$" + bcryptSecret[4:]
	for _, tc := range []struct {
		name    string
		encoded string
		pw      string
		want    bool
	}{
		{"the argon2id reference vector verifies", reference, "password", true},
		{"the argon2id reference vector rejects a wrong password", reference, "sassword", false},
		{"padded base64 in an argon2id hash is tolerated", strings.Replace(reference, "$CTFh", "=$CTFh", 1), "password", true},
		{"a bcrypt $2a$ hash verifies", bcryptSecret, "secret", true},
		{"a bcrypt $2a$ hash rejects a wrong password", bcryptSecret, "Secret", false},
		{"a bcrypt $2b$ hash verifies", b2b, "secret", true},
		{"a bcrypt $2y$ hash verifies", b2y, "secret", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(tc.encoded, tc.pw)
			if err != nil || ok != tc.want {
				t.Fatalf("Verify = %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
}

func TestMalformedHashesAreRefused(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	a := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	costly, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	tooCostly := string(costly[:4]) + "17" + string(costly[6:])
	for _, tc := range []struct {
		name    string
		encoded string
		want    string
	}{
		{"an empty string is refused", "", "empty"},
		{"a plaintext password is refused", "hunter2", "unsupported scheme"},
		{"argon2i is refused", "$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + key, "unsupported scheme"},
		{"a missing field is refused", "$argon2id$v=19$m=65536,t=2,p=1$" + salt, "want $argon2id$"},
		{"version 16 is refused", "$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + key, "unsupported version"},
		{"a missing parameter is refused", a("m=65536,t=2"), "are required"},
		{"a repeated parameter is refused", a("m=65536,t=2,t=2,p=1"), "bad parameter list"},
		{"an unknown parameter is refused", a("m=65536,t=2,p=1,x=3"), "unknown parameter"},
		{"a non-numeric value is refused", a("m=lots,t=2,p=1"), "bad value for m"},
		{"a leading zero is refused", a("m=065536,t=2,p=1"), "bad value for m"},
		{"memory above 1 GiB is refused", a("m=1048577,t=2,p=1"), "out of range"},
		{"memory below 8 KiB per lane is refused", a("m=31,t=2,p=4"), "out of range"},
		{"more than 100 passes are refused", a("m=65536,t=101,p=1"), "t=101 out of range"},
		{"zero passes are refused", a("m=65536,t=0,p=1"), "t=0 out of range"},
		{"zero lanes are refused", a("m=65536,t=2,p=0"), "p must be at least 1"},
		{"more than 64 lanes are refused", a("m=65536,t=2,p=65"), "exceeds the limit"},
		{"a huge lane count is refused", a("m=65536,t=2,p=4294967295"), "exceeds the limit"},
		{"a salt that is not base64 is refused", "$argon2id$v=19$m=65536,t=2,p=1$!!!$" + key, "salt: invalid base64"},
		{"a short salt is refused", "$argon2id$v=19$m=65536,t=2,p=1$YWJj$" + key, "salt is 3 bytes"},
		{"a short hash is refused", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$YWJj", "hash is 3 bytes"},
		{"a truncated bcrypt hash is refused", bcryptSecret[:59], "want 60 characters"},
		{"a bcrypt hash with a bad cost is refused", "$2a$xx" + bcryptSecret[6:], "bcrypt"},
		{"a bcrypt hash with a cost above 16 is refused", tooCostly, "cost 17 exceeds"},
		{"a bcrypt hash with a foreign character is refused", bcryptSecret[:59] + "!", "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errCheck := Check(tc.encoded)
			if !errors.Is(errCheck, ErrMalformed) || !strings.Contains(errCheck.Error(), tc.want) {
				t.Errorf("Check error = %v, want ErrMalformed mentioning %q", errCheck, tc.want)
			}
			ok, err := Verify(tc.encoded, "password")
			if ok || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, %v; want false and ErrMalformed mentioning %q", ok, err, tc.want)
			}
		})
	}
}

func TestCheckAcceptsUsableHashes(t *testing.T) {
	h, _ := Hash("x")
	for _, tc := range []struct{ name, encoded string }{
		{"a fresh hash is accepted", h},
		{"the reference vector is accepted", reference},
		{"a bcrypt hash is accepted", bcryptSecret},
		{"the dummy hash is accepted", Dummy()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.encoded); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDummyHasTheSameCostAsHash(t *testing.T) {
	h, _ := Hash("x")
	prefix := func(s string) string { return s[:strings.LastIndex(s[:strings.LastIndex(s, "$")], "$")] }
	if prefix(Dummy()) != prefix(h) {
		t.Fatalf("Dummy parameters %q differ from Hash's %q", prefix(Dummy()), prefix(h))
	}
	if ok, err := Verify(Dummy(), ""); ok || err != nil {
		t.Fatalf("Verify(Dummy(), \"\") = %v, %v; want false, nil", ok, err)
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, _ := Hash("correct horse battery staple")
	bc, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), bcrypt.DefaultCost)
	for _, bm := range []struct{ name, encoded string }{
		{"argon2id", h},
		{"bcrypt-cost10", string(bc)},
		{"dummy", Dummy()},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Verify(bm.encoded, "correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	h, _ := Hash("pw")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Verify(h, "pw"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
