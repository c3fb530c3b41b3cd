package quota_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
	"github.com/ferryftp/ferry/storage/quota"
)

// A user's file system with a 10-byte quota: the upload that would cross
// it fails with the 552 error, and the server discards it.
func ExampleWrap() {
	ctx := context.Background()
	t := quota.NewTracker(quota.Limits{MaxBytes: 10, MaxFiles: 100}, nil)
	inner := memfs.New()
	if err := t.Load(ctx, inner); err != nil { // scan once, at the first login
		panic(err)
	}
	fsys := quota.Wrap(inner, t) // give this to the session (ftpserver.Identity.FS)

	w, _ := fsys.Create(ctx, "a.txt", storage.CreateOptions{})
	io.WriteString(w, "hello")
	w.Close()

	w, _ = fsys.Create(ctx, "b.txt", storage.CreateOptions{})
	_, err := io.WriteString(w, "too long!")
	w.(storage.Discarder).Discard()
	fmt.Println(errors.Is(err, quota.ErrBytesExceeded), err)
	fmt.Println(t.Status())
	// Output:
	// true 552 Storage quota exceeded (bytes).
	// Quota: 5 of 10 bytes used, 1 of 100 files
}
