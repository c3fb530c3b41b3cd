package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTheProgressLineShowsTheVerificationPhaseInsteadOfARate(t *testing.T) {
	var out bytes.Buffer
	p := &progress{name: "big.iso", total: 1 << 30, start: time.Now().Add(-time.Second), w: &out}
	p.add(1 << 30)
	p.draw(false)
	if line := out.String(); !strings.Contains(line, "/s") || !strings.Contains(line, "ETA") {
		t.Fatalf("transfer line %q lacks the rate", line)
	}
	out.Reset()
	p.setPhase("verifying SHA-256")
	line := out.String()
	if !strings.Contains(line, "100.0% verifying SHA-256…") {
		t.Fatalf("phase line %q", line)
	}
	if strings.Contains(line, "/s") || strings.Contains(line, "ETA") {
		t.Fatalf("phase line %q still shows a rate", line)
	}
	out.Reset()
	p.start = p.start.Add(-time.Hour) // a long verification: the final rate stays the transfer's
	p.draw(true)
	if line := out.String(); !(strings.Contains(line, "MiB/s") || strings.Contains(line, "GiB/s")) || !strings.Contains(line, "done") || !strings.HasSuffix(line, "\n") {
		t.Fatalf("final line %q, want the transfer's rate (about 1 GiB/s, not 1 GiB in an hour) and done", line)
	}
}
