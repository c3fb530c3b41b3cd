package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ferryftp/ferry/internal/pgtest"
	"github.com/ferryftp/ferry/internal/s3test"
)

// TestTwoNodesShareUsersAndFiles is the scale-out topology on one machine:
// two ferry nodes on different loopback addresses share users in
// PostgreSQL and files in S3. A user created with `ferry user` uploads
// through node A and downloads the same bytes through node B; a password
// change made with the CLI applies at the next login on both nodes.
func TestTwoNodesShareUsersAndFiles(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("FERRY_REQUIRE_INTEROP") == "1" {
			t.Fatal("curl is required (FERRY_REQUIRE_INTEROP=1)")
		}
		t.Skip("curl is not installed (Debian package curl)")
	}
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	s3 := s3test.Start(t)
	bin := buildFerry(t)
	env := []string{"S3_AK=" + s3.AccessKey, "S3_SK=" + s3.SecretKey}

	ferry := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ferry %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ferry("first-pw\n", "user", "add", "alice", "--db", dsn, "--password-stdin",
		"--s3-endpoint", s3.Endpoint, "--s3-bucket", s3.Bucket, "--s3-prefix", "alice/",
		"--s3-credentials", "env:S3_AK,S3_SK")
	if out := ferry("", "user", "list", "--db", dsn); !strings.Contains(out, "alice") || strings.Contains(out, s3.SecretKey) {
		t.Fatalf("user list: %q", out)
	}

	dir := t.TempDir()
	node := func(name, ip string, pasv int) string {
		addr := strings.Replace(freePort(t), "127.0.0.1", ip, 1)
		conf := filepath.Join(dir, name+".toml")
		c := fmt.Sprintf("listen = %q\nusers_db = %q\n[passive]\nport_min = %d\nport_max = %d\n", addr, dsn, pasv, pasv+99)
		if err := os.WriteFile(conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		startFerryEnv(t, bin, addr, env, "serve", "--config", conf)
		return addr
	}
	nodeA := node("a", "127.0.0.2", 42000)
	nodeB := node("b", "127.0.0.3", 42100)

	data := make([]byte, 5<<20+123)
	rand.Read(data)
	src := filepath.Join(dir, "upload.bin")
	os.WriteFile(src, data, 0o600)
	get := filepath.Join(dir, "download.bin")
	curlRun := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("curl %v: %v\n%s", args, err, out)
		}
		return nil
	}

	if err := curlRun("-T", src, "--ftp-create-dirs", "ftp://alice:first-pw@"+nodeA+"/in/data.bin"); err != nil {
		t.Fatal(err)
	}
	if err := curlRun("-o", get, "ftp://alice:first-pw@"+nodeB+"/in/data.bin"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(get); !bytes.Equal(got, data) {
		t.Fatalf("node B served %d bytes, node A received %d", len(got), len(data))
	}
	mc, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := mc.StatObject(context.Background(), s3.Bucket, "alice/in/data.bin", minio.StatObjectOptions{})
	if err != nil || obj.Size != int64(len(data)) {
		t.Fatalf("the upload is not in the bucket: %+v, %v", obj, err)
	}

	ferry("second-pw\n", "user", "passwd", "alice", "--db", dsn)
	for _, n := range []string{nodeA, nodeB} {
		if err := curlRun("-o", get, "ftp://alice:first-pw@"+n+"/in/data.bin"); err == nil {
			t.Errorf("node %s still accepts the old password", n)
		}
		if err := curlRun("-o", get, "ftp://alice:second-pw@"+n+"/in/data.bin"); err != nil {
			t.Errorf("node %s: %v", n, err)
		}
	}
}
