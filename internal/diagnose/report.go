package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the verdict of one step.
type Status int

// Step verdicts, from best to worst. Skipped steps could not run because
// an earlier step failed or the server lacks what they test.
const (
	Skipped Status = iota
	OK
	Warning
	Failed
)

// String returns "skipped", "ok", "warning" or "failed".
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Warning:
		return "warning"
	case Failed:
		return "failed"
	}
	return "skipped"
}

// MarshalText makes a Status appear as its name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a Status name.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{Skipped, OK, Warning, Failed} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("diagnose: unknown status %q", b)
}

// Step is one checked step of a session.
type Step struct {
	// ID names the step for scripts ("connect", "passive.pasv", ...).
	ID string `json:"id"`
	// Title is a short human name.
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Summary is one line on what was seen.
	Summary string `json:"summary"`
	// Meaning explains what the result means for clients; Action what to
	// do about it. Both are empty for unremarkable results.
	Meaning string `json:"meaning,omitempty"`
	Action  string `json:"action,omitempty"`
	// Fault names a recognised cause, for scripts and tests
	// ("passive-blocked", "nat-private-pasv", ...). See docs/diagnose.md.
	Fault string `json:"fault,omitempty"`
	// Facts holds measured values (addresses, ports, versions).
	Facts map[string]string `json:"facts,omitempty"`
}

// Report is the outcome of a diagnosis.
type Report struct {
	Target string  `json:"target"`
	Steps  []*Step `json:"steps"`
	// Failures and Warnings count the steps with those verdicts.
	Failures int `json:"failures"`
	Warnings int `json:"warnings"`
}

func (r *Report) add(s *Step) *Step {
	r.Steps = append(r.Steps, s)
	switch s.Status {
	case Failed:
		r.Failures++
	case Warning:
		r.Warnings++
	}
	return s
}

// Step returns the first step with the given ID, or nil.
func (r *Report) Step(id string) *Step {
	for _, s := range r.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Faults returns the fault names of the failed and warning steps, in order.
func (r *Report) Faults() []string {
	var f []string
	for _, s := range r.Steps {
		if s.Fault != "" && (s.Status == Failed || s.Status == Warning) {
			f = append(f, s.Fault)
		}
	}
	return f
}

// ExitCode is 0 without failures, 1 with failures, and with strict also 1
// when any step warned.
func (r *Report) ExitCode(strict bool) int {
	if r.Failures > 0 || (strict && r.Warnings > 0) {
		return 1
	}
	return 0
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var marks = map[Status]string{OK: "ok", Warning: "WARN", Failed: "FAIL", Skipped: "skip"}

// WriteText writes the report for people: one line per step, then what
// it means and what to do for every step that is not ok.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ferry diagnose %s\n\n", r.Target)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "[%-4s] %-26s %s\n", marks[s.Status], s.Title, s.Summary)
		if s.Meaning != "" {
			wrap(&b, "         meaning: ", s.Meaning)
		}
		if s.Action != "" {
			wrap(&b, "         do:      ", s.Action)
		}
	}
	fmt.Fprintf(&b, "\n%d failed, %d warnings", r.Failures, r.Warnings)
	switch {
	case r.Failures > 0:
		b.WriteString(": common clients will not work with this server from here.\n")
	case r.Warnings > 0:
		b.WriteString(": common clients work in passive mode; some clients or modes will not.\n")
	default:
		b.WriteString(": everything checked works.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap writes text after prefix, folded at about 100 columns with the
// continuation lines indented like the first.
func wrap(b *strings.Builder, prefix, text string) {
	const width = 100
	indent := strings.Repeat(" ", len(prefix))
	line, empty := prefix, true
	for _, word := range strings.Fields(text) {
		if !empty && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	b.WriteString(line + "\n")
}
