package contrib

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// There is no container builder in CI: these tests read the Dockerfile
// with BuildKit's own parser and the lint rules it applies while parsing
// (those of `docker build --check` that need no build), check what the
// image promises, and build the binary with the Dockerfile's own go build
// command (ferryBinary).

const versionForTests = "contrib-test"

// dockerStages parses ../Dockerfile with BuildKit and returns its stages and
// every warning of the parser and the linter.
func dockerStages(t *testing.T) ([]instructions.Stage, []string) {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	var warnings []string
	for _, w := range res.Warnings {
		warnings = append(warnings, w.Short)
	}
	lint := linter.New(&linter.Config{
		ExperimentalAll: true,
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			warnings = append(warnings, linter.LintFormatShort(rule, msg, line))
		},
	})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages, warnings
}

// TestDockerfileLints requires the Dockerfile to parse without a warning
// from BuildKit's parser or linter (experimental rules included).
func TestDockerfileLints(t *testing.T) {
	if _, warnings := dockerStages(t); len(warnings) > 0 {
		t.Errorf("Dockerfile warnings:\n%s", strings.Join(warnings, "\n"))
	}
}

// TestDockerfileLintCatchesMistakes shows the linter is wired: a lower-case
// "as" in FROM is one of its rules.
func TestDockerfileLintCatchesMistakes(t *testing.T) {
	res, err := parser.Parse(strings.NewReader("FROM golang:1.26 as build\nRUN true\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, _ string, _ []parser.Range) { got = append(got, rule) }})
	if _, _, err := instructions.Parse(res.AST, lint); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(got, " "), "FromAsCasing") {
		t.Errorf("linter reported %q, want FromAsCasing", got)
	}
}

// TestDockerfileEssentials checks what docs/operations.md promises of the
// image: a Go builder stage at least as new as go.mod wants, a static
// CGO_ENABLED=0 build, a distroless or scratch final stage running as a
// non-root numeric user, port 21 and the passive range exposed and the same
// range in the default command, which ferry accepts.
func TestDockerfileEssentials(t *testing.T) {
	stages, _ := dockerStages(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	t.Run("the builder's Go is at least go.mod's", func(t *testing.T) {
		m := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(build.BaseName)
		if m == nil {
			t.Fatalf("builder image %q is not golang:MAJOR.MINOR", build.BaseName)
		}
		gomod, err := os.ReadFile("../go.mod")
		if err != nil {
			t.Fatal(err)
		}
		g := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(gomod))
		if g == nil {
			t.Fatal("go.mod has no go line")
		}
		if num(t, m[1])*1000+num(t, m[2]) < num(t, g[1])*1000+num(t, g[2]) {
			t.Errorf("builder %s is older than go.mod's go %s.%s", build.BaseName, g[1], g[2])
		}
	})
	t.Run("the build is static", func(t *testing.T) {
		line := goBuildLine(t, build)
		if !strings.Contains(line, "CGO_ENABLED=0") {
			t.Errorf("the go build line lacks CGO_ENABLED=0: %s", line)
		}
	})
	t.Run("the final stage has no C library and runs as non-root", func(t *testing.T) {
		if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
			t.Errorf("final image %q is neither distroless/static nor scratch", final.BaseName)
		}
		var user string
		for _, c := range final.Commands {
			if u, ok := c.(*instructions.UserCommand); ok {
				user = u.User
			}
		}
		uid, gid, _ := strings.Cut(user, ":")
		for _, id := range []string{uid, gid} {
			if n, err := strconv.Atoi(id); err != nil || n == 0 {
				t.Errorf("final USER %q: want numeric non-zero uid:gid (Kubernetes' runAsNonRoot checks numbers)", user)
				break
			}
		}
	})

	var exposed []string
	var entrypoint, cmd []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				t.Errorf("ENTRYPOINT in shell form: distroless has no shell")
			}
			entrypoint = c.CmdLine
		case *instructions.CmdCommand:
			if c.PrependShell {
				t.Errorf("CMD in shell form: distroless has no shell")
			}
			cmd = c.CmdLine
		}
	}
	t.Run("port 21 and the default command's passive range are exposed", func(t *testing.T) {
		var passive string
		for i, a := range cmd {
			if a == "--passive-ports" && i+1 < len(cmd) {
				passive = cmd[i+1]
			}
		}
		if passive == "" {
			t.Fatalf("CMD %q has no --passive-ports", cmd)
		}
		for _, want := range []string{"21", passive} {
			if !strings.Contains(" "+strings.Join(exposed, " ")+" ", " "+want+" ") {
				t.Errorf("EXPOSE %q lacks %s", exposed, want)
			}
		}
	})
	t.Run("ferry accepts the default command", func(t *testing.T) {
		if len(entrypoint) != 1 || len(cmd) == 0 || cmd[0] != "serve" {
			t.Fatalf("ENTRYPOINT %q CMD %q: want the ferry binary and serve ...", entrypoint, cmd)
		}
		copied := false
		for _, c := range final.Commands {
			if c, ok := c.(*instructions.CopyCommand); ok && c.From == build.Name && c.DestPath == entrypoint[0] {
				copied = true
			}
		}
		if !copied {
			t.Errorf("ENTRYPOINT %s is not where the final stage copies the binary from %s", entrypoint[0], build.Name)
		}
		ferry := ferryBinary(t)
		// --help after the command line: ferry parses every flag and
		// argument first, so an unknown flag still fails.
		out, err := exec.Command(ferry, append(cmd, "--help")...).CombinedOutput()
		if err != nil {
			t.Errorf("ferry %s --help: %v\n%s", strings.Join(cmd, " "), err, out)
		}
		bad := append(append([]string{}, cmd...), "--no-such-flag", "--help")
		if err := exec.Command(ferry, bad...).Run(); err == nil {
			t.Error("ferry accepted an unknown flag: this check cannot fail")
		}
	})
}

// TestDockerBuildIsStatic checks the binary the Dockerfile's own go build
// command makes: no ELF interpreter, no shared library, the version set.
func TestDockerBuildIsStatic(t *testing.T) {
	ferry := ferryBinary(t)
	f, err := elf.Open(ferry)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %q (%v)", libs, err)
	}
	out, err := exec.Command(ferry, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "ferry "+versionForTests {
		t.Errorf("ferry version printed %q (%v), want ferry %s from -ldflags", out, err, versionForTests)
	}
}

// TestDockerignoreKeepsBuildInputs checks .dockerignore against what
// go build ./cmd/ferry reads (go.mod, go.sum, every Go and embedded file of
// the module's packages it imports) and that it does leave out the rest.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	f, err := os.Open("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,EmbedFiles", "./cmd/ferry")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir                 string
			Module              *struct{ Main bool }
			GoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range append(p.GoFiles, p.EmbedFiles...) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, name)))
		}
	}
	if len(needed) < 50 {
		t.Fatalf("go list found only %d files: %q", len(needed), needed)
	}
	for _, name := range needed {
		if ignored(t, pm, name) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", name)
		}
	}
	for _, name := range []string{".git/HEAD", "ftpserver/server_test.go", "docs/operations.md", "bench/main.go"} {
		if !ignored(t, pm, name) {
			t.Errorf(".dockerignore sends %s to the builder", name)
		}
	}
}

func ignored(t *testing.T, pm *patternmatcher.PatternMatcher, name string) bool {
	t.Helper()
	ok, err := pm.MatchesOrParentMatches(name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// goBuildLine returns the part of the build stage's RUN that runs go build.
func goBuildLine(t *testing.T, build instructions.Stage) string {
	t.Helper()
	for _, c := range build.Commands {
		run, ok := c.(*instructions.RunCommand)
		if !ok {
			continue
		}
		for _, part := range strings.Split(strings.Join(run.CmdLine, " "), "&&") {
			if strings.Contains(part, "go build") {
				return strings.TrimSpace(part)
			}
		}
	}
	t.Fatal("the Dockerfile's first stage has no RUN ... go build")
	return ""
}

func num(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dockerGoBuild returns the shell command that builds ferry as the
// Dockerfile does, writing the binary to out instead of /out/ferry.
func dockerGoBuild(t *testing.T, out string) (string, error) {
	stages, _ := dockerStages(t)
	if len(stages) == 0 {
		return "", fmt.Errorf("the Dockerfile has no stage")
	}
	line := goBuildLine(t, stages[0])
	if strings.Count(line, "-o /out/ferry ") != 1 {
		return "", fmt.Errorf("the go build line does not write -o /out/ferry: %s", line)
	}
	return strings.Replace(line, "-o /out/ferry ", "-o '"+out+"' ", 1), nil
}
