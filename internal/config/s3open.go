package config

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferryftp/ferry/userstore"
)

// openBuckets opens the S3 storage of the file's users at start, so that a
// wrong bucket, credentials or endpoint shows in the start-up log. A
// failure does not stop the server: that user's logins fail (421, with the
// reason logged) and each login tries again, while other users are not
// affected.
func openBuckets(r *userstore.Resolver, users []userstore.User, logger *slog.Logger) {
	for _, u := range users {
		if !u.Storage.IsS3() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := r.Resolve(ctx, u.Storage)
		cancel()
		if err != nil && logger != nil {
			logger.Error("S3 storage unavailable: this user's logins fail until it works (retried at each login)",
				"user", u.Name, "storage", u.Storage.String(), "err", err)
		}
	}
}
