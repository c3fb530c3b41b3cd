package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCurlLines(t *testing.T) {
	cs, err := parseCurlLines("4096 0.012 0.010\n4096 0.002 0.0015\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0] != (curlLine{4096, 0.012, 0.010}) || cs[1] != (curlLine{4096, 0.002, 0.0015}) {
		t.Errorf("parseCurlLines = %+v", cs)
	}
	for _, bad := range []string{"", "\n", "4096 0.1", "4096 x 0.1", "1 2 3 4"} {
		if cs, err := parseCurlLines(bad); err == nil {
			t.Errorf("parseCurlLines(%q) = %+v, want an error", bad, cs)
		}
	}
}

func TestRedactHidesPasswords(t *testing.T) {
	got := strings.Join(redact([]string{"-u", "user,secret", "ftp://user:secret@127.0.0.1:21/x", "plain"}), " ")
	if strings.Contains(got, "secret") {
		t.Errorf("redact left the password: %q", got)
	}
	if !strings.Contains(got, "ftp://***@127.0.0.1:21/x") || !strings.HasSuffix(got, "plain") {
		t.Errorf("redact = %q", got)
	}
}

func TestMakeTreeIsReproducibleAndCheckTreeCatchesDamage(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ta, err := makeTree(filepath.Join(a, "tree"), 60, 6, 4096, 7)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := makeTree(filepath.Join(b, "tree"), 60, 6, 4096, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(ta) != 60 {
		t.Fatalf("%d files", len(ta))
	}
	dirs := map[string]bool{}
	var sizes []int64
	for i := range ta {
		if ta[i] != tb[i] {
			t.Fatalf("same seed, different file %d: %+v vs %+v", i, ta[i], tb[i])
		}
		dirs[filepath.Dir(ta[i].Rel)] = true
		sizes = append(sizes, ta[i].Size)
	}
	if len(dirs) != 6 {
		t.Errorf("%d folders, want 6", len(dirs))
	}
	if sizes[0] == sizes[1] && sizes[1] == sizes[2] {
		t.Errorf("sizes do not vary: %v", sizes[:3])
	}
	root := filepath.Join(a, "tree")
	if err := checkTree(root, ta); err != nil {
		t.Fatalf("intact tree: %v", err)
	}
	// One flipped byte, one missing file, one extra file: each is caught.
	var victim treeFile
	for _, f := range ta {
		if f.Size > 0 {
			victim = f
			break
		}
	}
	name := filepath.Join(root, victim.Rel)
	orig, _ := os.ReadFile(name)
	bad := bytes.Clone(orig)
	bad[len(bad)/2] ^= 1
	os.WriteFile(name, bad, 0o644)
	if err := checkTree(root, ta); err == nil || !strings.Contains(err.Error(), "content differs") {
		t.Errorf("flipped byte: %v", err)
	}
	os.Remove(name)
	if err := checkTree(root, ta); err == nil {
		t.Error("missing file not caught")
	}
	os.WriteFile(name, orig, 0o644)
	os.WriteFile(filepath.Join(root, "extra"), nil, 0o644)
	if err := checkTree(root, ta); err == nil || !strings.Contains(err.Error(), "unexpected") {
		t.Errorf("extra file: %v", err)
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.WriteFile(src, []byte("the server's bytes"), 0o644)
	size, crc, err := fileCRC(src)
	if err != nil || size != 18 {
		t.Fatal(size, err)
	}
	if err := checkFile(src, size, crc); err != nil {
		t.Error(err)
	}
	dst := filepath.Join(dir, "dst")
	os.WriteFile(dst, []byte("the server's bytez"), 0o644)
	if err := checkFile(dst, size, crc); err == nil {
		t.Error("different content of the same size passed")
	}
	os.WriteFile(dst, []byte("short"), 0o644)
	if err := checkFile(dst, size, crc); err == nil {
		t.Error("short file passed")
	}
}

func TestToolOrderRotatesAndKeepsLastAtTheEnd(t *testing.T) {
	cs := []contender{{Name: "a"}, {Name: "b"}, {Name: "z", last: true}, {Name: "c"}}
	names := func(cs []contender) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, ",")
	}
	for k, want := range []string{"a,b,c,z", "b,c,a,z", "c,a,b,z", "a,b,c,z"} {
		if got := names(toolOrder(cs, k)); got != want {
			t.Errorf("toolOrder(%d) = %s, want %s", k, got, want)
		}
	}
}

// svgCheck parses doc as XML to its end and returns its text content.
func svgCheck(t *testing.T, doc []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var text strings.Builder
	depth, root := 0, ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = x.Name.Local
				if x.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q", x.Name.Space)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(x)
			text.WriteByte('\n')
		}
	}
	if root != "svg" || depth != 0 {
		t.Fatalf("root %q, depth %d at the end", root, depth)
	}
	return text.String()
}

func TestPlotSVGIsWellFormedAndHoldsTheValues(t *testing.T) {
	p := plot{Title: `RETR 1 GiB <through> "a" & b`, Unit: "MB/s", Series: []series{
		{Name: "ferry", Values: []float64{930, 912, 951}, Ours: true},
		{Name: "vsftpd & co", Values: []float64{1028, 1001, 1040}},
		{Name: "proftpd", Values: nil},
	}}
	text := svgCheck(t, p.svg())
	for _, want := range []string{`RETR 1 GiB <through> "a" & b`, "ferry", "vsftpd & co", "930", "1028", "no result", "median 930 MB/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG text lacks %q:\n%s", want, text)
		}
	}
	doc := string(p.svg())
	if !strings.Contains(doc, `fill="#2b7bb9"`) {
		t.Error("ferry's bar is not highlighted")
	}
	// Degenerate values do not produce NaN coordinates.
	q := plot{Title: "t", Unit: "u", Series: []series{{Name: "x", Values: []float64{0}}, {Name: "y", Values: []float64{math.NaN()}}}}
	out := string(q.svg())
	svgCheck(t, []byte(out))
	if strings.Contains(out, "NaN") || !strings.Contains(out, "no result") {
		t.Errorf("NaN width:\n%s", out)
	}
}

func TestWritePlotsOnePerWorkload(t *testing.T) {
	res := &results{
		Date: "2026-12-03 10:00 UTC", Config: map[string]any{"rounds": 2},
		Servers:   []string{Ferry, "vsftpd"},
		Workloads: []workloadInfo{{ID: "retr", Name: "1. RETR", Unit: "MB/s"}, {ID: "stor", Name: "2. STOR", Unit: "MB/s"}},
		Samples: map[string]map[string][]sample{"retr": {
			Ferry: {{Value: 900}, {Value: 950}}, "vsftpd": {{Value: 1000}},
		}},
		Tools: []toolInfo{{ID: "mirror", Name: "mirror", Unit: "files/s", Group: "client",
			Contenders: []contenderInfo{{Name: "ferry mirror"}, {Name: "lftp mirror"}}}},
		ToolSamples: map[string]map[string][]sample{"mirror": {"ferry mirror": {{Value: 558}}, "lftp mirror": {{Value: 796}}}},
	}
	dir := t.TempDir()
	files, err := writePlots(res, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %v, want mirror.svg and retr.svg (stor has no samples)", files)
	}
	b, err := os.ReadFile(filepath.Join(dir, "mirror.svg"))
	if err != nil {
		t.Fatal(err)
	}
	text := svgCheck(t, b)
	if !strings.Contains(text, "558") || !strings.Contains(text, "lftp mirror") || !strings.Contains(text, "2026-12-03 10:00 UTC, 2 rounds") {
		t.Errorf("mirror.svg:\n%s", text)
	}
}

func TestToolMarkdownTargetsAndLabels(t *testing.T) {
	res := &results{
		Date: "d", Command: "go run ./bench", Config: map[string]any{"rounds": 3},
		Tools: []toolInfo{
			{ID: "mirror", Name: "mirror down", Unit: "files/s", Group: "client", Ours: "ferry mirror", Base: "lftp mirror", Target: 1.2,
				Contenders: []contenderInfo{{Name: "ferry mirror"}, {Name: "lftp mirror"}, {Name: "rclone copy"}}},
			{ID: "proxy_retr", Name: "RETR", Unit: "MB/s", Group: "proxy", Ours: "ferry proxy", Base: "direct", Target: 0.95,
				Contenders: []contenderInfo{{Name: "direct"}, {Name: "ferry proxy"}}},
		},
		ToolSamples: map[string]map[string][]sample{
			"mirror": {
				"ferry mirror": {{Value: 600}, {Value: 700}, {Value: 650}},
				"lftp mirror":  {{Value: 500}, {Value: 500}, {Value: 500}},
			},
			"proxy_retr": {
				"direct":      {{Value: 1000, Narrow: 2000}},
				"ferry proxy": {{Value: 900, Narrow: 1500}},
			},
		},
		ToolErrors: map[string]map[string]string{"mirror": {"rclone copy": "rclone: exit 1\nmore"}},
	}
	client := toolMarkdown(res, "client", "bench/results/x.json", "bench")
	for _, want := range []string{
		"rate a user sees", "after login", "| 650 | 600–700 |", "1.30×",
		"| ferry mirror ≥ 1.2 × lftp mirror (mirror down) | 650 | 500 | 1.30× | yes |",
		"| rclone copy | error |", "rclone: exit 1", "![mirror down](bench/mirror.svg)",
	} {
		if !strings.Contains(client, want) {
			t.Errorf("client markdown lacks %q:\n%s", want, client)
		}
	}
	if strings.Contains(client, "RETR") {
		t.Error("client markdown holds a proxy workload")
	}
	proxy := toolMarkdown(res, "proxy", "x.json", "")
	for _, want := range []string{"| 900 | 900–900 | 1500 | 0.90× |", "| ferry proxy ≥ 0.95 × direct (RETR) | 900 | 1000 | 0.90× | **no** |"} {
		if !strings.Contains(proxy, want) {
			t.Errorf("proxy markdown lacks %q:\n%s", want, proxy)
		}
	}
	if toolMarkdown(res, "other", "x", "") != "" {
		t.Error("a group without workloads gave markdown")
	}
}

func TestWriteDocReplacesOnlyItsSection(t *testing.T) {
	name := filepath.Join(t.TempDir(), "B.md")
	os.WriteFile(name, []byte("# B\n\nhand\n"+beginMark+"\nold server\n"+endMark+"\nmore hand\n"), 0o644)
	cb, ce := "<!-- bench-client:begin -->", "<!-- bench-client:end -->"
	if err := writeDoc(name, cb, ce, "client v1"); err != nil {
		t.Fatal(err)
	}
	if err := writeDoc(name, cb, ce, "client v2"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(name)
	s := string(b)
	if !strings.Contains(s, "old server") || !strings.Contains(s, "more hand") || strings.Contains(s, "client v1") ||
		strings.Count(s, "client v2") != 1 || strings.Count(s, cb) != 1 {
		t.Errorf("document:\n%s", s)
	}
}

func TestCountTimeWait(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A0B7 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 ffff 100 0 0 10 0
   1: 0100007F:9C41 0100007F:A0B7 06 00000000:00000000 03:00000F2A 00000000     0        0 0 3 ffff
   2: 0100007F:9C42 0100007F:A0B7 06 00000000:00000000 03:00000F2A 00000000     0        0 0 3 ffff
   3: 0100007F:9C43 0100007F:A0B7 01 00000000:00000000 00:00000000 00000000     0        0 2 1 ffff
`
	if n := countTimeWait(table); n != 2 {
		t.Errorf("countTimeWait = %d, want 2", n)
	}
	if n := timeWait(); n < 0 {
		t.Errorf("timeWait = %d: /proc/net/tcp unreadable", n)
	}
}
