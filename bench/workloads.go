package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config holds the sizes and counts of the workloads.
type config struct {
	bigSize    int64 // workloads 1, 2, 7
	midSize    int64 // workload 6
	parallel   int   // workload 6 clients
	smallFiles int   // workload 3
	logins     int   // workload 4, per storm
	loginConc  int   // workload 4 clients
	idle       int   // workload 5
	idleMax    int   // 10k idle sessions against ferry
	data       string
	// client and proxy workloads
	mirrorFiles    int // files of the mirror tree
	mirrorParallel int // transfers at once
	segments       int // segments of one download
	proxySmall     int // 4 KiB files through the proxies
	ferryBin       string
	destDir        string // where the client workloads write their downloads
	plots          string // folder for SVG plots ("": none)
}

// sample is one measurement of one workload against one server.
type sample struct {
	Value     float64 `json:"value"`
	Wall      float64 `json:"wall_s"`
	ServerCPU float64 `json:"server_cpu_pct"` // percent of one core
	ClientCPU float64 `json:"client_cpu_pct"`
	Errors    int     `json:"errors,omitempty"`
	Note      string  `json:"note,omitempty"`
	// UserRate is the rate a user sees: the work over the client's whole
	// wall-clock time, connection and login included (0: not a transfer).
	UserRate float64 `json:"user_rate,omitempty"`
	// Narrow is the narrower rate of a client or proxy workload where the
	// client reports one (curl: after login); 0 when it does not.
	Narrow float64 `json:"narrow_rate,omitempty"`
	// ProxyCPU is the proxy's process tree CPU (proxy workloads).
	ProxyCPU float64 `json:"proxy_cpu_pct,omitempty"`
}

// outcome is what one measurement of a workload returns: the table's value,
// the rate a user sees (0: not a transfer workload), which server process
// tree to account (pid; 0 when not measured) and a note.
type outcome struct {
	value, user float64
	pid         int
	note        string
}

// workload is one row of the table.
type workload struct {
	ID, Name, Unit string
	LowerBetter    bool
	// run measures t.
	run func(ctx context.Context, cfg *config, t *target) (outcome, error)
}

var workloads = []workload{
	{ID: "retr", Name: "1. RETR 1 GiB (curl)", Unit: "MB/s", run: curlRetr(false)},
	{ID: "stor", Name: "2. STOR 1 GiB (curl)", Unit: "MB/s", run: curlStor(false)},
	{ID: "small", Name: "3. 4 KiB RETRs, one session", Unit: "files/s", run: smallFiles},
	{ID: "login_pw", Name: "4a. login storm, password", Unit: "sessions/s", run: loginStorm(false)},
	{ID: "login_anon", Name: "4b. login storm, anonymous", Unit: "sessions/s", run: loginStorm(true)},
	{ID: "idle_mem", Name: "5. idle session memory (Pss), password logins", Unit: "KiB/session", LowerBetter: true, run: idleMemory(false)},
	{ID: "idle_mem_anon", Name: "5b. idle session memory (Pss), anonymous logins", Unit: "KiB/session", LowerBetter: true, run: idleMemory(true)},
	{ID: "par", Name: "6. 32 concurrent 256 MiB RETRs", Unit: "MB/s", run: parallelRetr},
	{ID: "tls_retr", Name: "7a. TLS RETR 1 GiB (curl)", Unit: "MB/s", run: curlRetr(true)},
	{ID: "tls_stor", Name: "7b. TLS STOR 1 GiB (curl)", Unit: "MB/s", run: curlStor(true)},
}

var errNA = errors.New("not applicable")

// curlResult is what curl's --write-out reports, and the wall-clock time
// of the whole curl process as the harness saw it.
type curlResult struct {
	bytes, total, pretransfer float64
	start                     time.Time
	wall                      time.Duration
}

func runCurl(ctx context.Context, args ...string) (curlResult, error) {
	r := curlResult{start: time.Now()}
	base := []string{"-sS", "--fail", "-w", "%{size_download} %{size_upload} %{time_total} %{time_pretransfer}"}
	cmd := exec.CommandContext(ctx, "curl", append(base, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r.wall = time.Since(r.start)
	if err != nil {
		return r, fmt.Errorf("curl %v: %v: %s", args, err, strings.TrimSpace(errb.String()))
	}
	f := strings.Fields(out.String())
	if len(f) != 4 {
		return r, fmt.Errorf("curl: unexpected output %q", out.String())
	}
	down, _ := strconv.ParseFloat(f[0], 64)
	up, _ := strconv.ParseFloat(f[1], 64)
	r.bytes = max(down, up)
	r.total, _ = strconv.ParseFloat(f[2], 64)
	r.pretransfer, _ = strconv.ParseFloat(f[3], 64)
	return r, nil
}

func curlAuth(t *target, tlsOn bool) (addr string, args []string, pid int) {
	addr, pid = t.addr, t.pid
	args = []string{"--user", t.user + ":" + t.pass}
	if tlsOn {
		addr, pid = t.tlsAddr, t.tlsPid
		args = append(args, "--ssl-reqd", "--insecure")
	}
	return addr, args, pid
}

// curlRetr downloads big.bin to /dev/null. The rate is bytes over the
// transfer time (curl's time_total - time_pretransfer), so the login's
// password hash does not count; the user's rate is bytes over the curl
// process's wall-clock time.
func curlRetr(tlsOn bool) func(context.Context, *config, *target) (outcome, error) {
	return func(ctx context.Context, cfg *config, t *target) (outcome, error) {
		if tlsOn && t.tlsAddr == "" {
			return outcome{}, errNA
		}
		addr, args, pid := curlAuth(t, tlsOn)
		r, err := runCurl(ctx, append(args, "-o", "/dev/null", "ftp://"+addr+"/big.bin")...)
		if err != nil {
			return outcome{pid: pid}, err
		}
		if int64(r.bytes) != cfg.bigSize {
			return outcome{pid: pid}, fmt.Errorf("downloaded %v bytes, want %d", r.bytes, cfg.bigSize)
		}
		return outcome{value: r.bytes / (r.total - r.pretransfer) / 1e6, user: r.bytes / r.wall.Seconds() / 1e6, pid: pid}, nil
	}
}

// curlStor uploads big.bin under a new name and deletes it afterwards.
func curlStor(tlsOn bool) func(context.Context, *config, *target) (outcome, error) {
	return func(ctx context.Context, cfg *config, t *target) (outcome, error) {
		if tlsOn && t.tlsAddr == "" {
			return outcome{}, errNA
		}
		addr, args, pid := curlAuth(t, tlsOn)
		name := "up-" + t.name + ".bin"
		defer os.Remove(filepath.Join(cfg.data, name))
		r, err := runCurl(ctx, append(args, "-T", filepath.Join(cfg.data, "big.bin"), "ftp://"+addr+"/"+name)...)
		if err != nil {
			return outcome{pid: pid}, err
		}
		if int64(r.bytes) != cfg.bigSize {
			return outcome{pid: pid}, fmt.Errorf("uploaded %v bytes, want %d", r.bytes, cfg.bigSize)
		}
		return outcome{value: r.bytes / (r.total - r.pretransfer) / 1e6, user: r.bytes / r.wall.Seconds() / 1e6, pid: pid}, nil
	}
}

// parallelRetr runs cfg.parallel curls at once on mid.bin; the aggregate
// rate is all bytes over the window from the first transfer's start to the
// last one's end; the user's rate is all bytes over the window from the
// first curl's start to the last curl's exit.
func parallelRetr(ctx context.Context, cfg *config, t *target) (outcome, error) {
	addr, args, pid := curlAuth(t, false)
	var wg sync.WaitGroup
	res := make([]curlResult, cfg.parallel)
	errs := make([]error, cfg.parallel)
	for i := range cfg.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = runCurl(ctx, append(args, "-o", "/dev/null", "ftp://"+addr+"/mid.bin")...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return outcome{pid: pid}, err
	}
	var first, last, pstart, pend time.Time
	var total float64
	for i, r := range res {
		if i == 0 || r.start.Before(pstart) {
			pstart = r.start
		}
		if e := r.start.Add(r.wall); e.After(pend) {
			pend = e
		}
		s := r.start.Add(time.Duration(r.pretransfer * float64(time.Second)))
		e := r.start.Add(time.Duration(r.total * float64(time.Second)))
		if i == 0 || s.Before(first) {
			first = s
		}
		if e.After(last) {
			last = e
		}
		total += r.bytes
	}
	if int64(total) != int64(cfg.parallel)*cfg.midSize {
		return outcome{pid: pid}, fmt.Errorf("downloaded %v bytes, want %d", total, int64(cfg.parallel)*cfg.midSize)
	}
	return outcome{value: total / last.Sub(first).Seconds() / 1e6, user: total / pend.Sub(pstart).Seconds() / 1e6, pid: pid}, nil
}

// smallFiles retrieves every 4 KiB file over one session (EPSV + RETR
// each). The rate counts from the first EPSV; the user's rate from the
// connection's dial to the reply to QUIT.
func smallFiles(ctx context.Context, cfg *config, t *target) (outcome, error) {
	dial := time.Now()
	c, err := dialFTP(ctx, t.addr, netip.Addr{})
	if err != nil {
		return outcome{pid: t.pid}, err
	}
	defer c.close()
	if err := c.login(t.user, t.pass); err != nil {
		return outcome{pid: t.pid}, err
	}
	if _, _, err := c.cmd(200, "TYPE I"); err != nil {
		return outcome{pid: t.pid}, err
	}
	buf := make([]byte, 32<<10)
	var s sink
	start := time.Now()
	for i := range cfg.smallFiles {
		if _, err := c.retr("small/f"+strconv.Itoa(i), &s, buf); err != nil {
			return outcome{pid: t.pid}, fmt.Errorf("file %d: %w", i, err)
		}
	}
	el := time.Since(start)
	if s.n != int64(cfg.smallFiles)*4096 {
		return outcome{pid: t.pid}, fmt.Errorf("got %d bytes", s.n)
	}
	c.quit()
	whole := time.Since(dial)
	return outcome{value: float64(cfg.smallFiles) / el.Seconds(), user: float64(cfg.smallFiles) / whole.Seconds(), pid: t.pid}, nil
}

// loginStorm runs connect-USER-PASS-QUIT cycles from cfg.loginConc clients.
func loginStorm(anon bool) func(context.Context, *config, *target) (outcome, error) {
	return func(ctx context.Context, cfg *config, t *target) (outcome, error) {
		addr, pid, user, pass := t.addr, t.pid, t.user, t.pass
		if anon {
			if t.anonAddr == "" {
				return outcome{}, errNA
			}
			addr, pid, user, pass = t.anonAddr, t.anonPid, "anonymous", "bench@example.com"
		}
		var next, failed atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		for range cfg.loginConc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(cfg.logins) && ctx.Err() == nil {
					c, err := dialFTP(ctx, addr, netip.Addr{})
					if err == nil {
						c.nc.SetDeadline(time.Now().Add(60 * time.Second))
						if err = c.login(user, pass); err == nil {
							err = c.quit()
						}
						c.close()
					}
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		note := ""
		if n := failed.Load(); n > 0 {
			note = fmt.Sprintf("%d of %d failed, first: %v", n, cfg.logins, firstErr.Load())
			if n > int64(cfg.logins)/100 {
				return outcome{pid: pid, note: note}, errors.New(note)
			}
		}
		return outcome{value: float64(int64(cfg.logins)-failed.Load()) / el.Seconds(), pid: pid, note: note}, nil
	}
}

// holdSessions opens n logged-in sessions (conc at a time), from source
// addresses 127.0.0.2.. when spread, and returns them.
func holdSessions(ctx context.Context, addr, user, pass string, n, conc int, spread bool) ([]*ftpConn, error) {
	conns := make([]*ftpConn, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				var src netip.Addr
				if spread {
					src = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%16)})
				}
				c, err := dialFTP(ctx, addr, src)
				if err == nil {
					c.nc.SetDeadline(time.Now().Add(60 * time.Second))
					if err = c.login(user, pass); err != nil {
						c.close()
					}
					c.nc.SetDeadline(time.Time{})
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("session %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

func closeAll(conns []*ftpConn) {
	for _, c := range conns {
		if c != nil {
			c.close()
		}
	}
}

// idleMemory holds cfg.idle logged-in sessions and reports the growth of
// the server's Pss (summed over its process tree) per session. ferry gets a
// fresh process for it (see target.fresh); its CPU is then not reported.
func idleMemory(anon bool) func(context.Context, *config, *target) (outcome, error) {
	return func(ctx context.Context, cfg *config, t *target) (outcome, error) {
		addr, pid, user, pass := t.addr, t.pid, t.user, t.pass
		if anon {
			if t.anonAddr == "" {
				return outcome{}, errNA
			}
			addr, pid, user, pass = t.anonAddr, t.anonPid, "anonymous", "bench@example.com"
		}
		if pid == 0 && t.fresh == nil {
			return outcome{}, errNA
		}
		measured := pid
		if t.fresh != nil {
			a, p, stop, err := t.fresh(ctx)
			if err != nil {
				return outcome{}, err
			}
			defer stop()
			addr, pid, measured = a, p, 0
		}
		time.Sleep(500 * time.Millisecond) // let sessions of earlier workloads exit
		before := treePss(pid)
		conns, err := holdSessions(ctx, addr, user, pass, cfg.idle, 32, false)
		if err != nil {
			return outcome{pid: measured}, err
		}
		time.Sleep(3 * time.Second)
		after := treePss(pid)
		procs := len(tree(pid))
		closeAll(conns)
		time.Sleep(time.Second)
		return outcome{value: float64(after-before) / float64(cfg.idle), pid: measured,
			note: fmt.Sprintf("Pss %d -> %d KiB, %d processes", before, after, procs)}, nil
	}
}

// idleMany holds cfg.idleMax anonymous sessions against one server, then
// checks every one still answers NOOP.
func idleMany(ctx context.Context, cfg *config, t *target) (sample, error) {
	addr, pid := t.anonAddr, t.anonPid
	if t.fresh != nil {
		a, p, stop, err := t.fresh(ctx)
		if err != nil {
			return sample{}, err
		}
		defer stop()
		addr, pid = a, p
	}
	time.Sleep(500 * time.Millisecond)
	before := treePss(pid)
	start := time.Now()
	conns, err := holdSessions(ctx, addr, "anonymous", "bench@example.com", cfg.idleMax, 64, true)
	if err != nil {
		return sample{}, err
	}
	defer closeAll(conns)
	opened := time.Since(start)
	time.Sleep(2 * time.Second)
	after := treePss(pid)
	bad := 0
	var firstErr error
	for _, c := range conns {
		c.nc.SetDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := c.cmd(200, "NOOP"); err != nil {
			bad++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	s := sample{Value: float64(cfg.idleMax - bad), Wall: opened.Seconds(), Errors: bad,
		Note: fmt.Sprintf("opened in %.1fs; Pss %d -> %d KiB (%.1f KiB/session); all answered NOOP after 2 s idle",
			opened.Seconds(), before, after, float64(after-before)/float64(cfg.idleMax))}
	if bad > 0 {
		s.Note = fmt.Sprintf("%d sessions failed NOOP, first: %v", bad, firstErr)
	}
	return s, nil
}

// iperf3 measures one loopback TCP stream for secs seconds (MB/s).
func iperf3(ctx context.Context, secs int) (float64, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	srv := exec.CommandContext(ctx, "iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", port)
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer srv.Wait()
	time.Sleep(300 * time.Millisecond)
	out, err := exec.CommandContext(ctx, "iperf3", "-c", "127.0.0.1", "-p", port, "-t", strconv.Itoa(secs), "-f", "m").CombinedOutput()
	if err != nil {
		srv.Process.Kill()
		return 0, fmt.Errorf("iperf3: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "receiver") {
			f := strings.Fields(line)
			for i := 1; i < len(f); i++ {
				if f[i] == "Mbits/sec" {
					v, _ := strconv.ParseFloat(f[i-1], 64)
					return v / 8, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("iperf3: no receiver line in\n%s", out)
}
