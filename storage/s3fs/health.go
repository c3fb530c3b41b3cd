package s3fs

import (
	"context"
	"fmt"
)

// CheckHealth implements storage.HealthChecker: the endpoint answers and
// the bucket exists (one HEAD request on the bucket).
func (f *FS) CheckHealth(ctx context.Context) error {
	ok, err := f.client.BucketExists(ctx, f.bucket)
	if err != nil {
		return fmt.Errorf("s3fs: checking bucket %q: %w", f.bucket, f.mapErr(ctx, "open", ".", err))
	}
	if !ok {
		return fmt.Errorf("s3fs: bucket %q does not exist", f.bucket)
	}
	return nil
}
