package s3test_test

import (
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/ferryftp/ferry/internal/s3test"
)

func TestStart(t *testing.T) {
	s := s3test.Start(t)
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(t.Context(), s.Bucket, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(t.Context(), s.Bucket, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if got, err := io.ReadAll(obj); err != nil || string(got) != "v" {
		t.Errorf("read %q, %v; want %q", got, err, "v")
	}
}
