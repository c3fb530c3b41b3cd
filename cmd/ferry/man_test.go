package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const manPath = "../../docs/man/ferry.1"

// TestManPageUpToDate checks that the committed page is what ferry man
// prints now, so it follows every change to a flag or a usage text.
func TestManPageUpToDate(t *testing.T) {
	t.Setenv("FERRY_DB", "") // the page shows the built-in --db default
	got, err := manPage()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(manPath)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("docs/man/ferry.1 is stale: regenerate it with\n\tgo run ./cmd/ferry man > docs/man/ferry.1")
	}
}

// TestManPageDocumentsEveryCommand checks that each command of ferry's
// usage text has a section, and each section every flag of its --help.
func TestManPageDocumentsEveryCommand(t *testing.T) {
	t.Setenv("FERRY_DB", "")
	page, err := manPage()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, args := range manCommands {
		documented[args[0]] = true
	}
	for _, line := range strings.Split(usage, "\n") {
		fields := strings.Fields(line)
		if !strings.HasPrefix(line, "  ferry ") || len(fields) < 2 {
			continue
		}
		switch cmd := fields[1]; cmd {
		case "version", "man":
		default:
			if !documented[cmd] {
				t.Errorf("ferry %s is in the usage text but not in manCommands", cmd)
			}
		}
	}
	for _, args := range manCommands {
		name := "ferry " + strings.Join(args, " ")
		_, flags, err := commandHelp(args)
		if err != nil {
			t.Fatal(err)
		}
		section := page[strings.Index(page, ".SS \""+roffEscape(name)+"\"\n"):]
		if next := strings.Index(section[4:], ".SS "); next >= 0 {
			section = section[:next+4]
		}
		for _, line := range strings.Split(flags, "\n") {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			flagName, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			if !strings.Contains(section, ".TP\n\\fB"+roffEscape(flagName)+"\\fR") {
				t.Errorf("%s: flag %s is missing from its section", name, flagName)
			}
		}
	}
}

// TestHelpPrintsDoubleDashFlags checks that every command's --help writes
// flags the way the docs do: --name, and -x only for one-letter flags.
func TestHelpPrintsDoubleDashFlags(t *testing.T) {
	for _, args := range manCommands {
		name := strings.Join(args, " ")
		_, flags, err := commandHelp(args)
		if err != nil {
			t.Fatal(err)
		}
		if flags == "" && name != "passwd" && name != "user" {
			t.Errorf("ferry %s --help does not list its flags with printFlags", name)
		}
		for _, line := range strings.Split(flags, "\n") {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			flagName, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			if long := strings.HasPrefix(flagName, "--"); long == (len(flagName) == 2) {
				t.Errorf("ferry %s --help prints %q", name, flagName)
			}
		}
	}
}

// TestManPageLint runs mandoc's and groff's checkers on the committed page.
// Under CI=true a missing mandoc fails the test (.ci/run installs it).
func TestManPageLint(t *testing.T) {
	abs, err := filepath.Abs(manPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("mandoc"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mandoc is required under CI=true (apt-get install mandoc)")
		}
		t.Skip("mandoc not installed (apt-get install mandoc)")
	}
	out, err := exec.Command("mandoc", "-T", "lint", "-W", "warning", abs).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("mandoc -T lint -W warning: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("groff"); err == nil {
		out, err := exec.Command("groff", "-man", "-Tutf8", "-z", "-ww", abs).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("groff -man -z -ww: %v\n%s", err, out)
		}
	}
}

// TestRoffEscape checks the escaping of characters roff would change or
// read as requests.
func TestRoffEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"--write", `\-\-write`},
		{`a\b`, `a\eb`},
		{"ferry — FTP", `ferry \[u2014] FTP`},
	} {
		if got := roffEscape(tc.in); got != tc.want {
			t.Errorf("roffEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{".SH x", `\&.SH x`},
		{"'x", `\&'x`},
		{"", `\&`},
		{"plain", "plain"},
	} {
		if got := roffLine(tc.in); got != tc.want {
			t.Errorf("roffLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestManCommand checks that "ferry man" prints the page.
func TestManCommand(t *testing.T) {
	t.Setenv("FERRY_DB", "/elsewhere.db") // ferry man ignores it
	var out, errb bytes.Buffer
	if code := run([]string{"man"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("ferry man exited %d: %s", code, errb.String())
	}
	want, err := os.ReadFile(manPath)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Error("ferry man printed something else than docs/man/ferry.1")
	}
}
