// Command bench runs ferry side by side with vsftpd, pure-ftpd and proftpd on
// the loopback interface and writes the comparison to docs/BENCHMARKS.md and
// the raw numbers to bench/results/.
//
// Usage, as root from the module root (bench/run installs curl and iperf3):
//
//	go run ./bench [-rounds 3] [-workloads retr,stor,...] [-quick] [-profile DIR]
//
// Every workload runs against every server in each round; the order of the
// servers rotates from round to round; the table holds medians. The client
// side is the same for every server: curl for the big transfers, the
// harness's own Go client (client.go) for the rest. Peers come from
// internal/peers (Debian packages unpacked into a cache folder).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

// results is what the harness writes to bench/results/*.json.
type results struct {
	Date      string                         `json:"date"`
	Command   string                         `json:"command"`
	Machine   machine                        `json:"machine"`
	Config    map[string]any                 `json:"config"`
	Servers   []string                       `json:"servers"`
	Notes     map[string]string              `json:"notes,omitempty"`
	Iperf3    []float64                      `json:"iperf3_mb_s"`
	Samples   map[string]map[string][]sample `json:"samples"` // workload → server → rounds
	Errors    map[string]map[string]string   `json:"errors,omitempty"`
	Idle10k   *sample                        `json:"idle10k,omitempty"`
	Workloads []workloadInfo                 `json:"workloads"`
	// Client and proxy workloads: workload → contender → rounds.
	Tools        []toolInfo                     `json:"tool_workloads,omitempty"`
	ToolSamples  map[string]map[string][]sample `json:"tool_samples,omitempty"`
	ToolErrors   map[string]map[string]string   `json:"tool_errors,omitempty"`
	ToolVersions map[string]string              `json:"tool_versions,omitempty"`
}

// toolInfo describes a client or proxy workload in the results.
type toolInfo struct {
	ID, Name, Unit, Group string
	Ours, Base            string
	Target                float64
	Contenders            []contenderInfo
}

type contenderInfo struct{ Name, Command string }

type workloadInfo struct {
	ID, Name, Unit string
	LowerBetter    bool
}

func main() {
	var (
		rounds    = flag.Int("rounds", 3, "rounds (each runs every workload against every server)")
		only      = flag.String("workloads", "", "comma-separated workload ids to run (default all): retr,stor,small,login_pw,login_anon,idle_mem,idle_mem_anon,par,tls_retr,tls_stor,idle10k, and the client and proxy workloads mirror,get,pget,proxy_retr,proxy_small")
		servers   = flag.String("servers", "ferry,vsftpd,pure-ftpd,proftpd", "servers to compare (may be empty with only client and proxy workloads)")
		quick     = flag.Bool("quick", false, "smoke run: small sizes and counts, 1 round (< 2 minutes)")
		bigMiB    = flag.Int64("big", 1024, "MiB of the single-transfer file (workloads 1, 2, 7)")
		midMiB    = flag.Int64("mid", 256, "MiB of each parallel download (workload 6)")
		par       = flag.Int("parallel", 32, "concurrent downloads (workload 6)")
		small     = flag.Int("small", 2000, "4 KiB files retrieved over one session (workload 3)")
		logins    = flag.Int("logins", 5000, "login cycles per storm (workload 4)")
		conc      = flag.Int("login-clients", 32, "concurrent clients of a login storm")
		idle      = flag.Int("idle", 2000, "idle sessions for the memory workload (5)")
		idleMax   = flag.Int("idle-max", 10000, "concurrent idle sessions held against ferry alone")
		iperfSecs = flag.Int("iperf-seconds", 5, "duration of each iperf3 run")
		profile   = flag.String("profile", "", "write a CPU profile of the ferry server for each workload into this folder (<workload>.pprof, last round)")
		noCache   = flag.Bool("no-login-cache", false, "turn off ferry's cache of verified credentials (on by default in ferry serve: security.login_cache_ttl)")
		inproc    = flag.Bool("inprocess", false, "serve ferry from the harness process itself (no CPU or memory figures for ferry)")
		doc       = flag.String("doc", "docs/BENCHMARKS.md", "markdown output (empty: none)")
		outDir    = flag.String("results", "bench/results", "folder for the raw JSON")
		work      = flag.String("work", "", "work folder for data files (default a new folder in $TMPDIR)")
		child     = flag.String("serve-ferry", "", "internal: serve ferry as described by this JSON file (the harness starts itself in this mode)")
		mirrorN   = flag.Int("mirror-files", 2000, "files of the mirror tree (client workload mirror)")
		mirrorPar = flag.Int("mirror-parallel", 4, "transfers at once of the mirror workload")
		segments  = flag.Int("segments", 4, "segments of the pget workload")
		proxySm   = flag.Int("proxy-small", 1000, "4 KiB files of the proxy_small workload (at most -small)")
		ferryBin  = flag.String("ferry", "", "ferry binary for the client and proxy workloads (default: go build ./cmd/ferry into the work folder)")
		plots     = flag.String("plots", "docs/bench", "folder for one SVG plot per workload (empty: none)")
		fromJSON  = flag.String("report", "", "only re-render the plots and the markdown from this raw results file of an earlier run")
		destDir   = flag.String("dest", defaultDest(), "folder the client workloads download into (default /dev/shm, a tmpfs, when present: the disk, shared with other work, would set the rate; empty: the work folder)")
	)
	flag.Parse()
	if *child != "" {
		serveChild(*child) // never returns
	}
	if *fromJSON != "" {
		// Re-render the report of an earlier run.
		b, err := os.ReadFile(*fromJSON)
		if err != nil {
			log.Fatal(err)
		}
		var res results
		if err := json.Unmarshal(b, &res); err != nil {
			log.Fatalf("%s: %v", *fromJSON, err)
		}
		if err := report(&res, *fromJSON, *plots, *doc); err != nil {
			log.Fatal(err)
		}
		return
	}
	cfg := &config{bigSize: *bigMiB << 20, midSize: *midMiB << 20, parallel: *par, smallFiles: *small,
		logins: *logins, loginConc: *conc, idle: *idle, idleMax: *idleMax,
		mirrorFiles: *mirrorN, mirrorParallel: *mirrorPar, segments: *segments, proxySmall: *proxySm,
		ferryBin: *ferryBin, plots: *plots, destDir: *destDir}
	if *quick {
		*rounds = 1
		cfg.bigSize, cfg.midSize, cfg.parallel, cfg.smallFiles = 64<<20, 16<<20, 8, 200
		cfg.mirrorFiles, cfg.proxySmall = 200, 200
		cfg.logins, cfg.idle, cfg.idleMax = 200, 200, 1000
		*iperfSecs = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, *rounds, *only, strings.Split(*servers, ","), *iperfSecs, *profile, *inproc, *noCache, *doc, *outDir, *work); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, cfg *config, rounds int, only string, names []string, iperfSecs int,
	profile string, inproc, noCache bool, doc, outDir, workDir string) error {
	if os.Geteuid() != 0 {
		return errors.New("bench must run as root (the peers run as a system user and need /etc/shadow); use bench/run")
	}
	raiseNoFile()
	want := func(id string) bool {
		return only == "" || slices.Contains(strings.Split(only, ","), id)
	}
	c := &cleaner{}
	defer c.run()
	if workDir == "" {
		d, err := os.MkdirTemp("", "ferry-bench-")
		if err != nil {
			return err
		}
		c.Cleanup(func() { os.RemoveAll(d) })
		workDir = d
	}
	if err := os.Chmod(workDir, 0o755); err != nil {
		return err
	}
	cfg.data = filepath.Join(workDir, "data")
	if err := os.MkdirAll(cfg.data, 0o755); err != nil {
		return err
	}
	log.Printf("writing data files into %s", cfg.data)
	if err := makeData(cfg.data, cfg.bigSize, cfg.midSize, cfg.smallFiles); err != nil {
		return err
	}
	certFile, keyFile, err := certFiles(workDir)
	if err != nil {
		return err
	}
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return err
		}
	}

	res := &results{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Command: commandLine(),
		Machine: describeMachine(),
		Config: map[string]any{"rounds": rounds, "ferry_login_cache": !noCache, "big_bytes": cfg.bigSize, "mid_bytes": cfg.midSize,
			"parallel": cfg.parallel, "small_files": cfg.smallFiles, "logins": cfg.logins,
			"login_clients": cfg.loginConc, "idle": cfg.idle, "idle_max": cfg.idleMax},
		Notes:   map[string]string{},
		Samples: map[string]map[string][]sample{},
		Errors:  map[string]map[string]string{},
	}
	for _, w := range workloads {
		res.Workloads = append(res.Workloads, workloadInfo{w.ID, w.Name, w.Unit, w.LowerBetter})
	}
	var targets []*target
	for _, n := range names {
		if n == "" {
			continue
		}
		var t *target
		var err error
		if n == Ferry {
			t, err = startFerry(ctx, c, workDir, cfg.data, certFile, keyFile, inproc, noCache)
		} else {
			t, err = startPeer(ctx, c, n, cfg.data, certFile, keyFile)
		}
		if err != nil {
			return fmt.Errorf("start %s: %w", n, err)
		}
		if t.note != "" {
			res.Notes[n] = t.note
		}
		log.Printf("%s: plain %s anonymous %s TLS %s", n, t.addr, orDash(t.anonAddr), orDash(t.tlsAddr))
		targets = append(targets, t)
		res.Servers = append(res.Servers, n)
	}

	var tenv *toolEnv
	var tools []toolWorkload
	if slices.ContainsFunc(toolIDs, want) {
		if tenv, tools, err = setupTools(ctx, c, cfg, workDir, cfg.ferryBin, want); err != nil {
			return fmt.Errorf("client and proxy workloads: %w", err)
		}
		res.ToolSamples, res.ToolErrors, res.ToolVersions = map[string]map[string][]sample{}, map[string]map[string]string{}, toolVersions()
		for _, w := range tools {
			ti := toolInfo{ID: w.ID, Name: w.Name, Unit: w.Unit, Group: w.Group, Ours: w.Ours, Base: w.Base, Target: w.Target}
			for _, k := range w.Contenders {
				ti.Contenders = append(ti.Contenders, contenderInfo{k.Name, k.Command})
			}
			res.Tools = append(res.Tools, ti)
		}
		res.Config["mirror_files"], res.Config["mirror_parallel"] = cfg.mirrorFiles, cfg.mirrorParallel
		res.Config["segments"], res.Config["proxy_small_files"] = cfg.segments, tenv.proxySmallFiles
	}

	for r := range rounds {
		if want("iperf3") || only == "" {
			v, err := iperf3(ctx, iperfSecs)
			if err != nil {
				log.Printf("iperf3: %v", err)
			} else {
				log.Printf("round %d: iperf3 loopback %.0f MB/s", r+1, v)
				res.Iperf3 = append(res.Iperf3, v)
			}
		}
		for wi, w := range workloads {
			if !want(w.ID) {
				continue
			}
			// Alternate: rotate the server order by round and workload.
			order := slices.Clone(targets)
			k := (r + wi) % len(order)
			order = append(order[k:], order[:k]...)
			for _, t := range order {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s, err := measure(ctx, cfg, w, t, profile)
				if errors.Is(err, errNA) {
					continue
				}
				if err != nil {
					log.Printf("round %d %s %s: %v", r+1, w.ID, t.name, err)
					if res.Errors[w.ID] == nil {
						res.Errors[w.ID] = map[string]string{}
					}
					res.Errors[w.ID][t.name] = err.Error()
					continue
				}
				log.Printf("round %d %-10s %-9s %10.1f %s  (server CPU %3.0f%%, client CPU %3.0f%%) %s",
					r+1, w.ID, t.name, s.Value, w.Unit, s.ServerCPU, s.ClientCPU, s.Note)
				if res.Samples[w.ID] == nil {
					res.Samples[w.ID] = map[string][]sample{}
				}
				res.Samples[w.ID][t.name] = append(res.Samples[w.ID][t.name], s)
			}
		}
		for wi, w := range tools {
			for _, k := range toolOrder(w.Contenders, r+wi) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s, err := measureTool(ctx, tenv, k)
				if err != nil {
					log.Printf("round %d %s %s: %v", r+1, w.ID, k.Name, err)
					if res.ToolErrors[w.ID] == nil {
						res.ToolErrors[w.ID] = map[string]string{}
					}
					res.ToolErrors[w.ID][k.Name] = err.Error()
					continue
				}
				log.Printf("round %d %-11s %-34s %8.1f %s (narrow %6.1f; vsftpd CPU %3.0f%%, client CPU %3.0f%%, proxy CPU %3.0f%%; %s)",
					r+1, w.ID, k.Name, s.Value, w.Unit, s.Narrow, s.ServerCPU, s.ClientCPU, s.ProxyCPU, s.Note)
				if res.ToolSamples[w.ID] == nil {
					res.ToolSamples[w.ID] = map[string][]sample{}
				}
				res.ToolSamples[w.ID][k.Name] = append(res.ToolSamples[w.ID][k.Name], s)
			}
		}
	}
	if want("idle10k") && slices.Contains(names, Ferry) {
		t := targets[slices.Index(names, Ferry)]
		log.Printf("holding %d idle sessions against ferry", cfg.idleMax)
		s, err := idleMany(ctx, cfg, t)
		if err != nil {
			log.Printf("idle10k: %v", err)
			s = sample{Errors: cfg.idleMax, Note: err.Error()}
		}
		log.Printf("idle10k: %.0f of %d sessions held: %s", s.Value, cfg.idleMax, s.Note)
		res.Idle10k = &s
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(outDir, time.Now().UTC().Format("20060102-150405")+".json")
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(name, append(b, '\n'), 0o644); err != nil {
		return err
	}
	log.Printf("raw results: %s", name)
	return report(res, name, cfg.plots, doc)
}

// report writes the plots into the folder plots and the markdown into
// doc (each part between its markers), and prints the markdown.
func report(res *results, name, plots, doc string) error {
	if plots != "" {
		files, err := writePlots(res, plots)
		if err != nil {
			return err
		}
		log.Printf("plots: %d SVG files in %s", len(files), plots)
	}
	plotRel := ""
	if plots != "" && doc != "" {
		if rel, err := filepath.Rel(filepath.Dir(doc), plots); err == nil {
			plotRel = filepath.ToSlash(rel)
		}
	}
	type part struct{ begin, end, md string }
	var parts []part
	if len(res.Samples) > 0 || res.Idle10k != nil {
		parts = append(parts, part{beginMark, endMark, markdown(res, name, plotRel)})
	}
	for _, g := range []string{"client", "proxy"} {
		if md := toolMarkdown(res, g, name, plotRel); md != "" {
			parts = append(parts, part{"<!-- bench-" + g + ":begin (generated by go run ./bench; edit outside the markers) -->", "<!-- bench-" + g + ":end -->", md})
		}
	}
	for _, p := range parts {
		fmt.Println(p.md)
		if doc != "" {
			if err := writeDoc(doc, p.begin, p.end, p.md); err != nil {
				return err
			}
		}
	}
	return nil
}

// measure runs one workload against one server and accounts CPU.
func measure(ctx context.Context, cfg *config, w workload, t *target, profile string) (sample, error) {
	if profile != "" && t.name == Ferry {
		out, _ := filepath.Abs(filepath.Join(profile, w.ID+".pprof"))
		if t.pid == 0 { // in-process
			f, err := os.Create(out)
			if err != nil {
				return sample{}, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return sample{}, err
			}
			defer pprof.StopCPUProfile()
		} else {
			pid := t.pid
			if strings.HasPrefix(w.ID, "tls_") {
				pid = t.tlsPid
			}
			profileStart(t.conf[pid], pid, out)
			defer profileStop(pid)
		}
	}
	// Start every measurement with no dirty pages, so that one server's
	// upload is not slowed by the writeback of the previous one's.
	syscall.Sync()
	// The downloads read "cached" files: make sure they are (this VM's page
	// cache does not keep them reliably between workloads).
	switch w.ID {
	case "retr", "tls_retr", "stor", "tls_stor":
		warm(filepath.Join(cfg.data, "big.bin"))
	case "par":
		warm(filepath.Join(cfg.data, "mid.bin"))
	}
	pids := []int{t.pid, t.anonPid, t.tlsPid}
	srv0 := map[int]time.Duration{}
	for _, p := range pids {
		srv0[p] = treeCPU(p)
	}
	cli0 := selfCPU()
	start := time.Now()
	o, err := w.run(ctx, cfg, t)
	wall := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	pid := o.pid
	s := sample{Value: o.value, UserRate: o.user, Wall: wall.Seconds(), Note: o.note}
	s.ClientCPU = 100 * (selfCPU() - cli0).Seconds() / wall.Seconds()
	if pid != 0 {
		s.ServerCPU = 100 * (treeCPU(pid) - srv0[pid]).Seconds() / wall.Seconds()
	} else {
		s.ServerCPU = -1 // not measured
	}
	if t.name == Ferry && t.pid == 0 {
		s.ServerCPU, s.ClientCPU = 0, 0 // one process: not separable
	}
	return s, nil
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard one (and the hard
// one too when permitted), for the idle-session workloads; children inherit it.
func raiseNoFile() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	want := syscall.Rlimit{Cur: 1 << 17, Max: max(lim.Max, 1<<17)}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Printf("raising RLIMIT_NOFILE: %v", err)
		}
	}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	log.Printf("RLIMIT_NOFILE %d", lim.Cur)
}

// warm reads a file so that its pages are in the page cache.
func warm(name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Read(buf); err != nil {
			return
		}
	}
}

// defaultDest is /dev/shm when it is a folder, else "" (the work folder).
func defaultDest() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func commandLine() string {
	args := []string{"go run ./bench"}
	args = append(args, os.Args[1:]...)
	return strings.Join(args, " ")
}
