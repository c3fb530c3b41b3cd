package config

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
)

func TestHooksAreWired(t *testing.T) {
	c, err := Parse([]byte(`
[anonymous]
enabled = true
root = "` + t.TempDir() + `"
[[hooks]]
events = ["upload", "delete"]
url = "http://127.0.0.1:9/hook"
secret = "k"
retries = -1
queue = 10
concurrency = 2
[[hooks]]
events = ["upload"]
command = ["/bin/false"]
veto = true
timeout = "3s"
[[hooks]]
events = ["upload"]
command = ["/bin/true"]
veto = true
`))
	if err != nil {
		t.Fatal(err)
	}
	opts, closeFn, err := c.ServerOptions(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if opts.Observer == nil || opts.Observer.FileOp == nil || opts.Observer.TransferDone == nil {
		t.Fatalf("the hooks' observer is not set: %+v", opts.Observer)
	}
	if opts.UploadCheckTimeout != 13*time.Second {
		t.Fatalf("UploadCheckTimeout = %v, want 13s (3s + the default 10s)", opts.UploadCheckTimeout)
	}
	err = opts.UploadCheck(context.Background(), ftpserver.UploadInfo{Path: "/x"})
	if err == nil || !strings.Contains(err.Error(), "/bin/false") {
		t.Fatalf("UploadCheck = %v, want the veto of /bin/false", err)
	}
}

func TestHooksAreValidated(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[[hooks]]\nevents = [\"upload\"]\n", "hooks[0]: set exactly one of url and command"},
		{"[[hooks]]\nevents = [\"upload\"]\nurl = \"http://x\"\n[[hooks]]\nevents = [\"delet\"]\nurl = \"http://x\"\n",
			`hooks[1]: events: unknown event "delet"`},
		{"[[hooks]]\nevents = [\"delete\"]\ncommand = [\"/bin/true\"]\nveto = true\n", `hooks[0]: veto: a veto hook's events must be just ["upload"]`},
		{"[[hooks]]\nevents = [\"upload\"]\nurl = \"http://x\"\ntimeout = \"-1s\"\n", "hooks[0]: timeout, queue, concurrency, retries, batch and batch_wait cannot be negative"},
		{"[[hooks]]\nevents = [\"upload\"]\ncommand = [\"/bin/true\"]\nbatch = 5\n", "hooks[0]: batch: only a webhook that does not veto"},
	} {
		c, err := Parse([]byte(tc.toml))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.toml, err, tc.want)
		}
	}
}

func TestHookBatchKeys(t *testing.T) {
	c, err := Parse([]byte("[[hooks]]\nevents = [\"download\"]\nurl = \"http://x\"\nbatch = 50\nbatch_wait = \"2s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.hookConfigs()[0]; h.Batch != 50 || h.BatchWait != 2*time.Second {
		t.Fatalf("batch %d, batch_wait %v; want 50 and 2s", h.Batch, h.BatchWait)
	}
}
