package userstore

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Storage kinds.
const (
	StorageLocal = "local"
	StorageS3    = "s3"
)

// StorageSpec says where a user's files live: a local directory, or a
// bucket and key prefix in S3-compatible object storage. It is comparable,
// and a Resolver keeps one file system per distinct spec.
type StorageSpec struct {
	// Kind is StorageLocal ("" means local too) or StorageS3.
	Kind string
	// Root is the local directory the user sees as "/" (absolute).
	Root string
	// Endpoint is the S3 endpoint URL or host:port ("" means the factory's
	// default, e.g. AWS).
	Endpoint string
	// Bucket is the S3 bucket; required for S3.
	Bucket string
	// Prefix is the key prefix the user sees as "/" ("" for the whole bucket).
	Prefix string
	// Region is the S3 region ("" means the factory's default).
	Region string
	// Credentials names where the S3 keys come from; see ParseCredentials.
	Credentials Credentials
}

// IsS3 reports whether the spec is S3 storage.
func (s StorageSpec) IsS3() bool { return s.Kind == StorageS3 }

// String describes the spec for humans: the root, or s3://bucket/prefix.
func (s StorageSpec) String() string {
	if s.IsS3() {
		return "s3://" + s.Bucket + "/" + strings.TrimPrefix(s.Prefix, "/")
	}
	return s.Root
}

// Credentials is a reference to S3 credentials, never the secret itself:
// either the names of environment variables holding the keys, or the name of
// a profile in the shared credentials file (~/.aws/credentials). The zero
// value means the StorageFactory's default (for example instance roles).
type Credentials struct {
	// AccessKeyEnv, SecretKeyEnv and SessionTokenEnv name environment
	// variables (SessionTokenEnv is optional).
	AccessKeyEnv, SecretKeyEnv, SessionTokenEnv string
	// Profile names a profile in the shared credentials file.
	Profile string
}

// ParseCredentials reads a credentials reference as written on the command
// line and stored in the database: "env:ACCESS_VAR,SECRET_VAR[,TOKEN_VAR]",
// "profile:NAME" or "" (the factory's default).
func ParseCredentials(s string) (Credentials, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch {
	case s == "":
		return Credentials{}, nil
	case kind == "env":
		vars := strings.Split(rest, ",")
		if len(vars) < 2 || len(vars) > 3 {
			return Credentials{}, fmt.Errorf("credentials %q: want env:ACCESS_KEY_VAR,SECRET_KEY_VAR[,SESSION_TOKEN_VAR]", s)
		}
		for _, v := range vars {
			if !isEnvName(v) {
				return Credentials{}, fmt.Errorf("credentials %q: %q is not an environment variable name", s, v)
			}
		}
		c := Credentials{AccessKeyEnv: vars[0], SecretKeyEnv: vars[1]}
		if len(vars) == 3 {
			c.SessionTokenEnv = vars[2]
		}
		return c, nil
	case kind == "profile":
		if rest == "" || strings.ContainsFunc(rest, func(r rune) bool { return r <= ' ' || r == '[' || r == ']' || r == 0x7f }) {
			return Credentials{}, fmt.Errorf("credentials %q: want profile:NAME", s)
		}
		return Credentials{Profile: rest}, nil
	}
	return Credentials{}, fmt.Errorf("credentials %q: want env:ACCESS_KEY_VAR,SECRET_KEY_VAR or profile:NAME", s)
}

func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// String formats c as ParseCredentials reads it. It contains no secret.
func (c Credentials) String() string {
	switch {
	case c.Profile != "":
		return "profile:" + c.Profile
	case c.AccessKeyEnv != "":
		s := "env:" + c.AccessKeyEnv + "," + c.SecretKeyEnv
		if c.SessionTokenEnv != "" {
			s += "," + c.SessionTokenEnv
		}
		return s
	}
	return ""
}

// FromEnv returns the keys from the environment variables c names. It fails,
// naming the variable but never showing a value, when one is unset or
// empty, or when c is not an env reference.
func (c Credentials) FromEnv() (accessKey, secretKey, sessionToken string, err error) {
	if c.AccessKeyEnv == "" {
		return "", "", "", errors.New("credentials are not an env: reference")
	}
	get := func(name string) (string, error) {
		v := os.Getenv(name)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return v, nil
	}
	if accessKey, err = get(c.AccessKeyEnv); err != nil {
		return "", "", "", err
	}
	if secretKey, err = get(c.SecretKeyEnv); err != nil {
		return "", "", "", err
	}
	if c.SessionTokenEnv != "" {
		if sessionToken, err = get(c.SessionTokenEnv); err != nil {
			return "", "", "", err
		}
	}
	return accessKey, secretKey, sessionToken, nil
}
