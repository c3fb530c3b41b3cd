package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of CPU times in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clkTck = 100

// tree returns pid and all its descendants, read from /proc.
func tree(pid int) []int {
	if pid <= 0 {
		return nil
	}
	children := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		f := statFields(p)
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name:
// [0] is the state, [1] the ppid, [11..14] utime stime cutime cstime.
func statFields(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// treeCPU is the CPU time used by pid's process tree: user and system time
// of every live member plus what they collected from children that exited.
func treeCPU(pid int) time.Duration {
	var ticks int64
	for _, p := range tree(pid) {
		f := statFields(p)
		if len(f) < 15 {
			continue
		}
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / clkTck
}

// treePss sums Pss (KiB) from /proc/PID/smaps_rollup over pid's tree.
func treePss(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		f, err := os.Open(filepath.Join("/proc", strconv.Itoa(p), "smaps_rollup"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
				v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				total += v
				break
			}
		}
		f.Close()
	}
	return total
}

// selfCPU is the CPU time of this process and of its reaped children
// (curl, iperf3): the client side of a workload.
func selfCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

// timeWait counts the TCP sockets in TIME_WAIT (IPv4 and IPv6), from
// /proc/net/tcp{,6}; -1 when they cannot be read.
func timeWait() int {
	n, ok := 0, false
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		ok = true
		n += countTimeWait(string(b))
	}
	if !ok {
		return -1
	}
	return n
}

// countTimeWait counts the rows of a /proc/net/tcp table in state 06
// (TIME_WAIT); the state is the fourth field.
func countTimeWait(table string) int {
	n := 0
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[3] == "06" {
			n++
		}
	}
	return n
}

// settleTimeWait waits, up to limit, until fewer than below sockets are in
// TIME_WAIT, and returns the count it saw last. Thousands of them (every
// data connection leaves one) make the kernel's search for a free
// ephemeral port slow down every connect, which would bill one client for
// the connections of the one measured before it.
func settleTimeWait(ctx context.Context, below int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		n := timeWait()
		if n < below || time.Now().After(deadline) || ctx.Err() != nil {
			return n
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
