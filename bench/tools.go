package main

// Client and proxy workloads (issue 15): whole client processes — ferry's
// own client, lftp, rclone, curl — against one vsftpd, directly or through
// a proxy. Each run is timed from the process's start to its exit, login
// included, and its result is checked (file count, sizes, checksums) before
// it counts.

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/internal/peers"
)

// toolWorkload is one client or proxy workload: several contenders, each a
// whole client process, measured one after the other in every round.
type toolWorkload struct {
	ID, Name, Unit string
	Group          string // "client" or "proxy"
	Contenders     []contender
	// Ours is the contender a target is about (ferry's default), Base the
	// one it is compared with, Target the factor Ours must reach.
	Ours, Base string
	Target     float64
}

// contender is one row of a tool workload.
type contender struct {
	Name    string // label in tables and plots
	Command string // the command line, for the report
	run     func(ctx context.Context, e *toolEnv) (toolRun, error)
	last    bool // always measured after the others (not rotated)
}

// timeWaitMax is the number of sockets in TIME_WAIT below which a client
// or proxy measurement starts (see settleTimeWait), and the longest wait
// for it: other work on the machine may hold tens of thousands that no
// wait of ours clears.
const (
	timeWaitMax  = 6000
	timeWaitWait = 15 * time.Second
)

// Passive port ranges of the client and proxy workloads: wide, and below
// Linux's ephemeral range (32768–60999), so that a client's SYN is
// unlikely to meet the server's TIME_WAIT socket of an earlier data
// connection with the same port pair (and wait for a retransmission).
var (
	toolVsftpdPasv = [2]int{20000, 29999}
	toolProxyPasv  = [2]int{10000, 19999}
)

// ftpProxySmallFiles caps the files of proxy_small through ftp-proxy.
const ftpProxySmallFiles = 50

// toolRun is one measured run of a contender.
type toolRun struct {
	user    float64       // rate over the whole process (the table's value)
	narrow  float64       // curl's rate after login; 0 when not reported
	cpu     time.Duration // the client process's user + system time
	wall    time.Duration
	procPid int // the proxy's pid, for its CPU (0: none)
}

// toolEnv is what the contenders need: the server, the proxies, the
// binaries and the expected data.
type toolEnv struct {
	cfg             *config
	ferry           string // path of the ferry binary
	addr            string // vsftpd's host:port
	pid             int    // vsftpd's master process
	user, pass      string
	rclonePass      string // pass as "rclone obscure" prints it
	ferryProxy      string // host:port of ferry proxy in front of vsftpd
	ferryProxyPid   int
	ftpProxy        string // host:port of ftp-proxy in front of vsftpd
	ftpProxyPid     int
	out             string // scratch folder for downloads
	tree            []treeFile
	bigCRC          uint32
	smallCRC        []uint32 // of small/f0.. (the proxy's small files)
	proxyContentOK  map[string]bool
	mirrorParallel  int
	segments        int
	proxySmallFiles int
}

// treeFile is one file of the mirror tree: path relative to the tree's
// root, size and CRC-32C.
type treeFile struct {
	Rel  string
	Size int64
	CRC  uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// makeTree writes files files of random sizes from 0 to maxSize bytes into
// dirs folders under root, from a fixed seed, and returns what it wrote.
func makeTree(root string, files, dirs int, maxSize int64, seed uint64) ([]treeFile, error) {
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	buf := make([]byte, maxSize)
	var out []treeFile
	for i := range files {
		rel := fmt.Sprintf("d%02d/f%04d.bin", i%dirs, i)
		size := rng.Int64N(maxSize + 1)
		for j := int64(0); j < size; j += 8 {
			v := rng.Uint64()
			for k := int64(0); k < 8 && j+k < size; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		name := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(name, buf[:size], 0o644); err != nil {
			return nil, err
		}
		out = append(out, treeFile{Rel: rel, Size: size, CRC: crc32.Checksum(buf[:size], castagnoli)})
	}
	return out, nil
}

// checkTree compares the regular files under root with want: the same
// paths, sizes and CRC-32C, and nothing else.
func checkTree(root string, want []treeFile) error {
	byRel := make(map[string]treeFile, len(want))
	for _, f := range want {
		byRel[f.Rel] = f
	}
	seen := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		w, ok := byRel[filepath.ToSlash(rel)]
		if !ok {
			return fmt.Errorf("unexpected file %s", rel)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if int64(len(b)) != w.Size {
			return fmt.Errorf("%s: %d bytes, want %d", rel, len(b), w.Size)
		}
		if crc32.Checksum(b, castagnoli) != w.CRC {
			return fmt.Errorf("%s: content differs", rel)
		}
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(want) {
		return fmt.Errorf("%d files, want %d", seen, len(want))
	}
	return nil
}

// checkCount checks that dir holds exactly n entries.
func checkCount(dir string, n int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) != n {
		return fmt.Errorf("%d files, want %d", len(ents), n)
	}
	return nil
}

// fileCRC returns the size and CRC-32C of a file.
func fileCRC(name string) (int64, uint32, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	return n, h.Sum32(), err
}

// checkFile checks a downloaded file's size and CRC-32C.
func checkFile(name string, size int64, crc uint32) error {
	n, c, err := fileCRC(name)
	switch {
	case err != nil:
		return err
	case n != size:
		return fmt.Errorf("%s: %d bytes, want %d", filepath.Base(name), n, size)
	case c != crc:
		return fmt.Errorf("%s: content differs from the server's file", filepath.Base(name))
	}
	return nil
}

// runTool runs one client process and returns its wall-clock time (start to
// exit) and CPU time; stdout is returned for parsing.
func runTool(ctx context.Context, env []string, name string, args ...string) (time.Duration, time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return wall, cpu, out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(redact(args), " "), err, firstLine(strings.TrimSpace(errb.String())))
	}
	return wall, cpu, out.String(), nil
}

// redact hides the password in URLs and lftp's -u argument in error messages.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if u, rest, ok := strings.Cut(a, "://"); ok {
			if at := strings.IndexByte(rest, '@'); at >= 0 {
				a = u + "://***@" + rest[at+1:]
			}
		}
		if i > 0 && args[i-1] == "-u" {
			a = "***"
		}
		out[i] = a
	}
	return out
}

// fresh empties and returns the download folder.
func (e *toolEnv) fresh() (string, error) {
	if err := os.RemoveAll(e.out); err != nil {
		return "", err
	}
	return e.out, os.MkdirAll(e.out, 0o755)
}

func (e *toolEnv) url(addr, path string) string {
	return "ftp://" + e.user + ":" + e.pass + "@" + addr + "/" + path
}

// lftpScript returns lftp's arguments: log in to addr, run cmd, quit. TLS is
// off (the server has none; lftp would otherwise try AUTH TLS first) and a
// failing command makes lftp exit non-zero.
func (e *toolEnv) lftpScript(cmd string) []string {
	return []string{"-u", e.user + "," + e.pass, "-e",
		"set ftp:ssl-allow no; set cmd:fail-exit yes; " + cmd + "; quit", "ftp://" + e.addr}
}

func mirrorWorkload(e *toolEnv) toolWorkload {
	n := strconv.Itoa(e.mirrorParallel)
	ferryMirror := func(extra ...string) func(context.Context, *toolEnv) (toolRun, error) {
		return func(ctx context.Context, e *toolEnv) (toolRun, error) {
			dst, err := e.fresh()
			if err != nil {
				return toolRun{}, err
			}
			args := append([]string{"mirror", "-q", "--parallel", n}, extra...)
			return e.treeRun(ctx, dst, nil, e.ferry, append(args, e.url(e.addr, "tree"), dst)...)
		}
	}
	return toolWorkload{
		ID: "mirror", Group: "client", Unit: "files/s",
		Name: fmt.Sprintf("mirror down %d files (%d folders, 0–64 KiB), %s in parallel", len(e.tree), treeDirs, n),
		Ours: "ferry mirror", Base: "lftp mirror", Target: 1.2,
		Contenders: []contender{
			{Name: "ferry mirror", Command: "ferry mirror -q --parallel " + n + " URL DEST", run: ferryMirror()},
			{Name: "ferry mirror --verify=false", Command: "ferry mirror -q --parallel " + n + " --verify=false URL DEST", run: ferryMirror("--verify=false")},
			{Name: "lftp mirror", Command: "lftp -e 'mirror --parallel=" + n + " tree DEST; quit'", run: func(ctx context.Context, e *toolEnv) (toolRun, error) {
				dst, err := e.fresh()
				if err != nil {
					return toolRun{}, err
				}
				return e.treeRun(ctx, dst, nil, "lftp", e.lftpScript("mirror --parallel="+n+" tree "+dst)...)
			}},
			{Name: "rclone copy", Command: "rclone copy --transfers " + n + " :ftp:tree DEST (remote from RCLONE_FTP_* variables)", run: func(ctx context.Context, e *toolEnv) (toolRun, error) {
				dst, err := e.fresh()
				if err != nil {
					return toolRun{}, err
				}
				host, port, _ := strings.Cut(e.addr, ":")
				env := []string{"RCLONE_CONFIG=" + filepath.Join(e.out, "..", "rclone-none.conf"),
					"RCLONE_FTP_HOST=" + host, "RCLONE_FTP_PORT=" + port, "RCLONE_FTP_USER=" + e.user, "RCLONE_FTP_PASS=" + e.rclonePass}
				return e.treeRun(ctx, dst, env, "rclone", "copy", "-q", "--transfers", n, ":ftp:tree", dst)
			}},
		},
	}
}

// treeDirs is the number of folders of the mirror tree.
const treeDirs = 20

// treeRun runs a mirroring client and checks the tree it wrote into dst.
func (e *toolEnv) treeRun(ctx context.Context, dst string, env []string, name string, args ...string) (toolRun, error) {
	wall, cpu, _, err := runTool(ctx, env, name, args...)
	if err != nil {
		return toolRun{}, err
	}
	if err := checkTree(dst, e.tree); err != nil {
		return toolRun{}, fmt.Errorf("%s: wrong result: %w", name, err)
	}
	return toolRun{user: float64(len(e.tree)) / wall.Seconds(), cpu: cpu, wall: wall}, nil
}

// fileRun runs a downloading client and checks the file it wrote.
func (e *toolEnv) fileRun(ctx context.Context, dst string, name string, args ...string) (toolRun, string, error) {
	wall, cpu, out, err := runTool(ctx, nil, name, args...)
	if err != nil {
		return toolRun{}, out, err
	}
	if err := checkFile(dst, e.cfg.bigSize, e.bigCRC); err != nil {
		return toolRun{}, out, fmt.Errorf("%s: wrong result: %w", name, err)
	}
	return toolRun{user: float64(e.cfg.bigSize) / wall.Seconds() / 1e6, cpu: cpu, wall: wall}, out, nil
}

func ferryGet(extra ...string) func(context.Context, *toolEnv) (toolRun, error) {
	return func(ctx context.Context, e *toolEnv) (toolRun, error) {
		dir, err := e.fresh()
		if err != nil {
			return toolRun{}, err
		}
		dst := filepath.Join(dir, "big.bin")
		args := append([]string{"get", "-q"}, extra...)
		r, _, err := e.fileRun(ctx, dst, e.ferry, append(args, e.url(e.addr, "big.bin"), dst)...)
		return r, err
	}
}

func getWorkload(e *toolEnv) toolWorkload {
	return toolWorkload{
		ID: "get", Group: "client", Unit: "MB/s", Name: fmt.Sprintf("one %s download to a file", sizeName(e.cfg.bigSize)),
		Ours: "ferry get", Base: "curl", Target: 1.0,
		Contenders: []contender{
			{Name: "ferry get", Command: "ferry get -q URL DEST", run: ferryGet()},
			{Name: "ferry get --verify=false", Command: "ferry get -q --verify=false URL DEST", run: ferryGet("--verify=false")},
			{Name: "curl", Command: "curl -sS --fail -o DEST URL", run: func(ctx context.Context, e *toolEnv) (toolRun, error) {
				dir, err := e.fresh()
				if err != nil {
					return toolRun{}, err
				}
				dst := filepath.Join(dir, "big.bin")
				r, out, err := e.fileRun(ctx, dst, "curl", "-sS", "--fail", "-w", curlFormat, "-o", dst, e.url(e.addr, "big.bin"))
				if err != nil {
					return r, err
				}
				cs, err := parseCurlLines(out)
				if err != nil {
					return r, err
				}
				r.narrow = float64(e.cfg.bigSize) / (cs[0].total - cs[0].pretransfer) / 1e6
				return r, nil
			}},
		},
	}
}

func pgetWorkload(e *toolEnv) toolWorkload {
	n := strconv.Itoa(e.segments)
	lftpName := "lftp pget -n " + n
	return toolWorkload{
		ID: "pget", Group: "client", Unit: "MB/s", Name: fmt.Sprintf("one %s download in %s segments", sizeName(e.cfg.bigSize), n),
		Ours: "ferry get --segments " + n, Base: lftpName, Target: 1.0,
		Contenders: []contender{
			{Name: "ferry get --segments " + n, Command: "ferry get -q --segments " + n + " URL DEST", run: ferryGet("--segments", n)},
			{Name: "ferry get --segments " + n + " --verify=false", Command: "ferry get -q --segments " + n + " --verify=false URL DEST", run: ferryGet("--segments", n, "--verify=false")},
			{Name: lftpName, Command: "lftp -e 'pget -n " + n + " big.bin -o DEST; quit'", run: func(ctx context.Context, e *toolEnv) (toolRun, error) {
				dir, err := e.fresh()
				if err != nil {
					return toolRun{}, err
				}
				dst := filepath.Join(dir, "big.bin")
				r, _, err := e.fileRun(ctx, dst, "lftp", e.lftpScript("pget -n "+n+" big.bin -o "+dst)...)
				return r, err
			}},
		},
	}
}

// proxyPath is one way to vsftpd: direct or through a proxy.
type proxyPath struct {
	name string
	addr func(e *toolEnv) string
	pid  func(e *toolEnv) int
}

var proxyPaths = []proxyPath{
	{"direct", func(e *toolEnv) string { return e.addr }, func(*toolEnv) int { return 0 }},
	{"ferry proxy", func(e *toolEnv) string { return e.ferryProxy }, func(e *toolEnv) int { return e.ferryProxyPid }},
	{"ftp-proxy", func(e *toolEnv) string { return e.ftpProxy }, func(e *toolEnv) int { return e.ftpProxyPid }},
}

func proxyRetrWorkload(e *toolEnv) toolWorkload {
	w := toolWorkload{
		ID: "proxy_retr", Group: "proxy", Unit: "MB/s", Name: fmt.Sprintf("RETR %s (curl, PASV)", sizeName(e.cfg.bigSize)),
		Ours: "ferry proxy", Base: "direct", Target: 0.95,
	}
	for _, p := range proxyPaths {
		w.Contenders = append(w.Contenders, contender{Name: p.name, Command: "curl -sS --fail --disable-epsv -o /dev/null URL",
			run: func(ctx context.Context, e *toolEnv) (toolRun, error) {
				u := e.url(p.addr(e), "big.bin")
				wall, cpu, out, err := runTool(ctx, nil, "curl", "-sS", "--fail", "--disable-epsv", "-w", curlFormat, "-o", "/dev/null", u)
				if err != nil {
					return toolRun{}, err
				}
				cs, err := parseCurlLines(out)
				if err != nil {
					return toolRun{}, err
				}
				if int64(cs[0].bytes) != e.cfg.bigSize {
					return toolRun{}, fmt.Errorf("%s: downloaded %v bytes, want %d", p.name, cs[0].bytes, e.cfg.bigSize)
				}
				// The timed run goes to /dev/null; check the content once
				// per path, untimed, through a pipe.
				if !e.proxyContentOK[p.name] {
					if err := curlCRC(ctx, u, e.cfg.bigSize, e.bigCRC); err != nil {
						return toolRun{}, fmt.Errorf("%s: %w", p.name, err)
					}
					e.proxyContentOK[p.name] = true
				}
				return toolRun{user: float64(e.cfg.bigSize) / wall.Seconds() / 1e6,
					narrow: float64(e.cfg.bigSize) / (cs[0].total - cs[0].pretransfer) / 1e6,
					cpu:    cpu, wall: wall, procPid: p.pid(e)}, nil
			}})
	}
	return w
}

// curlCRC downloads u through a pipe and checks its size and CRC-32C.
func curlCRC(ctx context.Context, u string, size int64, crc uint32) error {
	cmd := exec.CommandContext(ctx, "curl", "-sS", "--fail", "--disable-epsv", u)
	h := crc32.New(castagnoli)
	var n countWriter
	cmd.Stdout = io.MultiWriter(h, &n)
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("content check: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	if n.n != size || h.Sum32() != crc {
		return fmt.Errorf("content check: %d bytes (want %d), CRC %08x (want %08x)", n.n, size, h.Sum32(), crc)
	}
	return nil
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func proxySmallWorkload(e *toolEnv) toolWorkload {
	n := e.proxySmallFiles
	w := toolWorkload{
		ID: "proxy_small", Group: "proxy", Unit: "files/s", Name: fmt.Sprintf("%d × 4 KiB RETRs, one lftp session (PASV)", n),
		Ours: "ferry proxy", Base: "direct", Target: 0.7,
	}
	for _, p := range proxyPaths {
		name, n, last := p.name, n, false
		if p.name == "ftp-proxy" {
			// ftp-proxy holds every 226 for tens to hundreds of
			// milliseconds (its CPU stays idle), so it gets fewer files,
			// and it runs last: the data connections it leaves in
			// TIME_WAIT slow the next client's connects.
			n = min(n, ftpProxySmallFiles)
			name, last = fmt.Sprintf("ftp-proxy (%d files)", n), true
		}
		w.Contenders = append(w.Contenders, contender{Name: name, last: last,
			Command: fmt.Sprintf("lftp -e 'set ftp:prefer-epsv no; get -O DEST small/f0 … small/f%d; quit'", n-1),
			run: func(ctx context.Context, e *toolEnv) (toolRun, error) {
				dir, err := e.fresh()
				if err != nil {
					return toolRun{}, err
				}
				// lftp, not curl: curl 7.88 now and then starts the
				// connect of a passive data connection only at its
				// 1-second housekeeping tick (its trace shows "Connecting
				// to" and, a second later, "Trying"), direct and through
				// a proxy alike, which made this workload measure curl's
				// timer.
				get := make([]string, 0, n+2)
				get = append(get, "get", "-O", dir)
				for i := range n {
					get = append(get, "small/f"+strconv.Itoa(i))
				}
				wall, cpu, _, err := runTool(ctx, nil, "lftp", "-u", e.user+","+e.pass, "-e",
					"set ftp:ssl-allow no; set cmd:fail-exit yes; set ftp:prefer-epsv no; "+strings.Join(get, " ")+"; quit",
					"ftp://"+p.addr(e))
				if err != nil {
					return toolRun{}, err
				}
				if err := checkCount(dir, n); err != nil {
					return toolRun{}, fmt.Errorf("%s: wrong result: %w", p.name, err)
				}
				for i := range n {
					if err := checkFile(filepath.Join(dir, "f"+strconv.Itoa(i)), 4096, e.smallCRC[i]); err != nil {
						return toolRun{}, fmt.Errorf("%s: wrong result: %w", p.name, err)
					}
				}
				return toolRun{user: float64(n) / wall.Seconds(), cpu: cpu, wall: wall, procPid: p.pid(e)}, nil
			}})
	}
	return w
}

// curlFormat is the --write-out format of the tool workloads: one line per
// transfer.
const curlFormat = "%{size_download} %{time_total} %{time_pretransfer}\\n"

// curlLine is one transfer as curl's --write-out reports it.
type curlLine struct{ bytes, total, pretransfer float64 }

// parseCurlLines parses the output of curlFormat: one line per transfer.
func parseCurlLines(out string) ([]curlLine, error) {
	var cs []curlLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, fmt.Errorf("curl: unexpected --write-out line %q", l)
		}
		var c curlLine
		var err [3]error
		c.bytes, err[0] = strconv.ParseFloat(f[0], 64)
		c.total, err[1] = strconv.ParseFloat(f[1], 64)
		c.pretransfer, err[2] = strconv.ParseFloat(f[2], 64)
		if e := errors.Join(err[:]...); e != nil {
			return nil, fmt.Errorf("curl: --write-out line %q: %w", l, e)
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, errors.New("curl: no --write-out line")
	}
	return cs, nil
}

func sizeName(b int64) string {
	if b >= 1<<30 && b%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", b>>30)
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

// toolIDs lists the ids of the tool workloads (for -workloads).
var toolIDs = []string{"mirror", "get", "pget", "proxy_retr", "proxy_small"}

// setupTools starts vsftpd, ferry proxy and ftp-proxy in front of it, builds
// ferry and writes the mirror tree; it returns the workloads wanted.
func setupTools(ctx context.Context, c *cleaner, cfg *config, workDir, ferryBin string, want func(string) bool) (*toolEnv, []toolWorkload, error) {
	for _, tool := range []string{"curl", "lftp", "rclone"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, nil, fmt.Errorf("client workloads need %s: %w (bench/run installs it)", tool, err)
		}
	}
	destDir := cfg.destDir
	if destDir == "" {
		destDir = workDir
	}
	out, err := os.MkdirTemp(destDir, "ferry-bench-dl-")
	if err != nil {
		return nil, nil, err
	}
	c.Cleanup(func() { os.RemoveAll(out) })
	e := &toolEnv{cfg: cfg, out: filepath.Join(out, "dl"), proxyContentOK: map[string]bool{},
		mirrorParallel: cfg.mirrorParallel, segments: cfg.segments, proxySmallFiles: min(cfg.proxySmall, cfg.smallFiles)}
	if ferryBin == "" {
		ferryBin = filepath.Join(workDir, "ferry")
		log.Printf("building ferry into %s", ferryBin)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", ferryBin, "./cmd/ferry").CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("go build ./cmd/ferry: %v\n%s", err, out)
		}
	}
	e.ferry = ferryBin
	log.Printf("writing the mirror tree: %d files in %d folders", cfg.mirrorFiles, treeDirs)
	if e.tree, err = makeTree(filepath.Join(cfg.data, "tree"), cfg.mirrorFiles, treeDirs, 64<<10, 15); err != nil {
		return nil, nil, err
	}
	if _, e.bigCRC, err = fileCRC(filepath.Join(cfg.data, "big.bin")); err != nil {
		return nil, nil, err
	}
	for i := range e.proxySmallFiles {
		_, crc, err := fileCRC(filepath.Join(cfg.data, "small", "f"+strconv.Itoa(i)))
		if err != nil {
			return nil, nil, err
		}
		e.smallCRC = append(e.smallCRC, crc)
	}
	s, err := peers.StartContext(ctx, c, peers.Vsftpd, peers.Options{Root: cfg.data, PassivePorts: toolVsftpdPasv})
	if err != nil {
		return nil, nil, err
	}
	e.addr, e.pid, e.user, e.pass = s.Addr, s.Pid(), s.User, s.Password
	ob, err := exec.CommandContext(ctx, "rclone", "obscure", e.pass).Output()
	if err != nil {
		return nil, nil, fmt.Errorf("rclone obscure: %w", err)
	}
	e.rclonePass = strings.TrimSpace(string(ob))
	var ws []toolWorkload
	for _, mk := range []func(*toolEnv) toolWorkload{mirrorWorkload, getWorkload, pgetWorkload, proxyRetrWorkload, proxySmallWorkload} {
		if w := mk(e); want(w.ID) {
			ws = append(ws, w)
		}
	}
	if want("proxy_retr") || want("proxy_small") {
		pr := toolProxyPasv
		e.ferryProxy, e.ferryProxyPid, err = startChild(ctx, c, workDir, "ferry-proxy", ferryBin,
			"proxy", "--listen", "{addr}", "--backend", e.addr, "--data-ports", fmt.Sprintf("%d-%d", pr[0], pr[1]))
		if err != nil {
			return nil, nil, err
		}
		p, err := peers.StartFTPProxyContext(ctx, c, e.addr, peers.ProxyOptions{})
		if err != nil {
			return nil, nil, err
		}
		e.ftpProxy, e.ftpProxyPid = p.Addr, p.Pid()
	}
	log.Printf("client and proxy workloads: vsftpd %s, ferry proxy %s, ftp-proxy %s", e.addr, orDash(e.ferryProxy), orDash(e.ftpProxy))
	return e, ws, nil
}

// startChild starts a server process (args may contain "{addr}", replaced
// by a free loopback address), waits for its 220 greeting and registers its
// shutdown with c.
func startChild(ctx context.Context, c *cleaner, work, name, exe string, args ...string) (string, int, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", 0, err
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "{addr}", addr)
	}
	return runChild(ctx, c, work, name, addr, exe, args...)
}

// runChild runs exe with args in its own process group, its output in
// work/name.log, waits for its 220 greeting on addr and registers its
// shutdown with c (SIGTERM, SIGKILL after 5 s).
func runChild(ctx context.Context, c *cleaner, work, name, addr, exe string, args ...string) (string, int, error) {
	logf, err := os.Create(filepath.Join(work, name+".log"))
	if err != nil {
		return "", 0, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", 0, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	c.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	if err := waitGreeting(ctx, addr, done); err != nil {
		b, _ := os.ReadFile(logf.Name())
		return "", 0, fmt.Errorf("%s: %w\n%s", name, err, b)
	}
	return addr, cmd.Process.Pid, nil
}

// toolOrder rotates the contenders by k, leaving those marked last at the end.
func toolOrder(cs []contender, k int) []contender {
	var rot, last []contender
	for _, c := range cs {
		if c.last {
			last = append(last, c)
		} else {
			rot = append(rot, c)
		}
	}
	if len(rot) > 0 {
		k %= len(rot)
		rot = append(rot[k:], rot[:k]...)
	}
	return append(rot, last...)
}

// measureTool runs one contender once, with the server's (and the proxy's)
// CPU accounted.
func measureTool(ctx context.Context, e *toolEnv, k contender) (sample, error) {
	tw := settleTimeWait(ctx, timeWaitMax, timeWaitWait)
	syscall.Sync()
	warm(filepath.Join(e.cfg.data, "big.bin"))
	srv0 := treeCPU(e.pid)
	p0 := map[int]time.Duration{e.ferryProxyPid: treeCPU(e.ferryProxyPid), e.ftpProxyPid: treeCPU(e.ftpProxyPid)}
	r, err := k.run(ctx, e)
	if err != nil {
		return sample{}, err
	}
	// Percent of one core over the client's run (the checks after it use
	// no server or proxy time).
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / r.wall.Seconds() }
	s := sample{Value: r.user, UserRate: r.user, Narrow: r.narrow, Wall: r.wall.Seconds(),
		ServerCPU: pct(treeCPU(e.pid) - srv0), ClientCPU: pct(r.cpu), Note: fmt.Sprintf("%d sockets in TIME_WAIT at the start", tw)}
	if r.procPid != 0 {
		s.ProxyCPU = pct(treeCPU(r.procPid) - p0[r.procPid])
	}
	return s, nil
}
