package s3fs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/s3fs"
)

func TestDiscard(t *testing.T) {
	for _, size := range []int{1000, part + 1000} {
		t.Run(fmt.Sprintf("a discarded %d-byte upload leaves no object, no partial and no open multipart upload", size), func(t *testing.T) {
			f, prefix := setupFS(t)
			mustWrite(t, f, "f", []byte("old"), storage.CreateOptions{})
			w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(randomBytes(size, 7)); err != nil {
				t.Fatal(err)
			}
			if err := w.(storage.Discarder).Discard(); err != nil {
				t.Fatal(err)
			}
			if got := mustRead(t, f, "f", 0); string(got) != "old" {
				t.Errorf("content %q, want the old %q", got, "old")
			}
			if k := keys(t, prefix); len(k) != 1 || k[0] != "f" {
				t.Errorf("keys = %q, want only f", k)
			}
			if n := incomplete(t, prefix); n != 0 {
				t.Errorf("%d multipart uploads left open", n)
			}
		})
		t.Run(fmt.Sprintf("Discard after a failed Close of %d bytes removes the partial Close kept", size), func(t *testing.T) {
			opts := options(t)
			f, err := s3fs.New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			prefix := opts.Prefix
			w, err := f.Create(t.Context(), "u", storage.CreateOptions{Exclusive: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(randomBytes(size, 8)); err != nil {
				t.Fatal(err)
			}
			// Another server (another FS on the same bucket) takes the name.
			other, err := s3fs.New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, other, "u", []byte("theirs"), storage.CreateOptions{})
			if err := w.Close(); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("Close = %v, want fs.ErrExist", err)
			}
			if k := keys(t, prefix); len(k) != 2 {
				t.Fatalf("keys after the failed Close = %q, want u and its partial", k)
			}
			if err := w.(storage.Discarder).Discard(); err != nil {
				t.Fatal(err)
			}
			if k := keys(t, prefix); len(k) != 1 || k[0] != "u" {
				t.Errorf("keys = %q, want only u", k)
			}
			if n := incomplete(t, prefix); n != 0 {
				t.Errorf("%d multipart uploads left open", n)
			}
			if got := mustRead(t, f, "u", 0); string(got) != "theirs" {
				t.Errorf("content %q, want %q", got, "theirs")
			}
		})
	}
	t.Run("a cancelled upload is still discarded", func(t *testing.T) {
		f, prefix := setupFS(t)
		ctx, cancel := context.WithCancel(t.Context())
		w, err := f.Create(ctx, "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(randomBytes(part+10, 9))
		cancel()
		w.(storage.Discarder).Discard()
		if n := incomplete(t, prefix); n != 0 {
			t.Errorf("%d multipart uploads left open", n)
		}
		if k := keys(t, prefix); len(k) != 0 {
			t.Errorf("keys = %q, want none", k)
		}
	})
	t.Run("CheckCreate accepts a resume of a partial upload", func(t *testing.T) {
		f, _ := setupFS(t)
		w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("0123"))
		w.(storage.Aborter).Abort()
		if err := f.CheckCreate(t.Context(), "f", storage.CreateOptions{Offset: 4}); err != nil {
			t.Errorf("CheckCreate(Offset 4) = %v, want nil", err)
		}
		if err := f.CheckCreate(t.Context(), "f", storage.CreateOptions{Offset: 5}); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("CheckCreate(Offset 5) = %v, want fs.ErrInvalid", err)
		}
		mustWrite(t, f, "f", []byte("45"), storage.CreateOptions{Offset: 4})
		if got := mustRead(t, f, "f", 0); string(got) != "012345" {
			t.Errorf("content %q", got)
		}
	})
}
