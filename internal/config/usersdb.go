package config

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// openUsersDB opens the users_db database (creating a SQLite file that
// does not exist yet, with no users).
func (c *Config) openUsersDB() (*sqlstore.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, c.UsersDB, sqlstore.Options{
		Local: localfs.Options{Atomic: c.UploadMode == "atomic"},
	})
	if err != nil {
		return nil, fmt.Errorf("users_db: %w", err)
	}
	return db, nil
}

// fileThenDB tries the config file's users (and anonymous logins) first,
// then the database: a name refused by the file is looked up in the
// database.
func fileThenDB(file, db ftpserver.Authenticator) ftpserver.Authenticator {
	return ftpserver.AuthenticatorFunc(func(ctx context.Context, login ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		id, err := file.Authenticate(ctx, login)
		if !errors.Is(err, ftpserver.ErrAuthFailed) {
			return id, err
		}
		return db.Authenticate(ctx, login)
	})
}
