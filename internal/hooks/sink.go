package hooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// SignatureHeader carries a webhook body's signature:
// "sha256=" and the hex HMAC-SHA256 of the body with the hook's secret.
const SignatureHeader = "X-Ferry-Signature"

// EventHeader carries the event's name.
const EventHeader = "X-Ferry-Event"

// Sign is the value of SignatureHeader for body with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// errPermanent marks a failure that a retry would not fix (a 4xx answer).
var errPermanent = errors.New("permanent failure")

// deliverFunc delivers one body once: the JSON of one event, or of a
// batch of them (a webhook with Batch > 1); e is the first (or only)
// event. ctx carries the hook's timeout.
type deliverFunc func(ctx context.Context, e *Event, body []byte) error

// BatchEvent is the EventHeader of a batched webhook's requests, whose
// body is a JSON array of events.
const BatchEvent = "batch"

// webhook posts events to url; batched hooks name their requests
// BatchEvent.
func webhook(client *http.Client, url string, secret []byte, batched bool) deliverFunc {
	return func(ctx context.Context, e *Event, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%w: %v", errPermanent, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "ferry-hooks")
		name := e.Event
		if batched {
			name = BatchEvent
		}
		req.Header.Set(EventHeader, name)
		if len(secret) > 0 {
			req.Header.Set(SignatureHeader, Sign(secret, body))
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
			return fmt.Errorf("webhook answered %s", resp.Status)
		}
		return fmt.Errorf("%w: webhook answered %s", errPermanent, resp.Status)
	}
}

// maxOutput bounds what is kept of a command's output for the log.
const maxOutput = 4 << 10

// command runs argv with the event in its environment and on its stdin.
// A non-zero exit, or not exiting within the timeout, is a failure.
func command(argv []string) deliverFunc {
	return func(ctx context.Context, e *Event, body []byte) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), e.Env()...)
		cmd.Stdin = bytes.NewReader(body)
		var out limitedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		// A child that keeps the output pipe open past the kill does not
		// hold the hook for long.
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%s: %w: %s", argv[0], err, msg)
		}
		return fmt.Errorf("%s: %w", argv[0], err)
	}
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
