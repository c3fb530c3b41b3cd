package config

import (
	"context"
	"fmt"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/s3fs"
	"github.com/ferryftp/ferry/userstore"
)

// S3 is a user's [users.s3] table: the user's files live in a bucket
// instead of under root.
type S3 struct {
	// Endpoint is "host:port" or an http(s):// URL ("" means AWS).
	Endpoint string `toml:"endpoint"`
	Bucket   string `toml:"bucket"`
	// Prefix is the key prefix the user sees as "/".
	Prefix string `toml:"prefix"`
	Region string `toml:"region"`
	// Credentials says where the keys come from, never the keys:
	// "env:ACCESS_VAR,SECRET_VAR[,TOKEN_VAR]", "profile:NAME", or "" for
	// the environment's AWS_* variables, the default profile or IAM.
	Credentials string `toml:"credentials"`
}

// spec turns the table into the storage description the SQL store uses
// too, so both paths build S3 file systems the same way.
func (s *S3) spec() (userstore.StorageSpec, error) {
	cred, err := userstore.ParseCredentials(s.Credentials)
	if err != nil {
		return userstore.StorageSpec{}, err
	}
	return userstore.StorageSpec{Kind: userstore.StorageS3, Endpoint: s.Endpoint, Bucket: s.Bucket,
		Prefix: s.Prefix, Region: s.Region, Credentials: cred}, nil
}

// openS3 builds the S3 file system of a storage description. Credential
// values are read from the environment here and never logged.
func openS3(ctx context.Context, spec userstore.StorageSpec) (storage.FS, error) {
	if !spec.IsS3() {
		return nil, fmt.Errorf("not S3 storage: %s", spec)
	}
	o := s3fs.Options{Endpoint: spec.Endpoint, Bucket: spec.Bucket, Prefix: spec.Prefix,
		Region: spec.Region, Profile: spec.Credentials.Profile}
	if spec.Credentials.AccessKeyEnv != "" {
		var err error
		if o.AccessKey, o.SecretKey, o.SessionToken, err = spec.Credentials.FromEnv(); err != nil {
			return nil, err
		}
	}
	fsys, err := s3fs.New(ctx, o)
	if err != nil {
		return nil, err
	}
	return fsys, nil
}
