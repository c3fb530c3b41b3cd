package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
)

type machine struct {
	NProc  int    `json:"nproc"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	MemMiB int64  `json:"mem_mib"`
}

func describeMachine() machine {
	m := machine{NProc: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		m.MemMiB = kb >> 10
	}
	return m
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianOf(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return median(v)
}

// targetFactor is the factor over the best peer that ferry must reach on each workload.
var targetFactor = map[string]float64{
	"retr": 1.0, "stor": 1.0, "small": 1.2, "login_pw": 1.0, "login_anon": 1.0,
	"par": 1.0, "tls_retr": 1.0, "tls_stor": 1.0,
}

const idleTargetKiB = 20

func fmtVal(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// markdown renders the generated server part of docs/BENCHMARKS.md; plots
// is the folder of the SVG plots relative to the document ("": none).
func markdown(res *results, rawName, plots string) string {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "Run of %s on %d CPUs (%s), %d MiB RAM, Linux %s, %s.\n\n", res.Date, m.NProc, m.CPU, m.MemMiB, m.Kernel, m.Go)
	fmt.Fprintf(&b, "Command (as root, from the module root): `%s`  \nRaw numbers: [`%s`](../%s)\n\n", res.Command, rawName, rawName)
	iperf := median(res.Iperf3)
	fmt.Fprintf(&b, "Loopback limit, iperf3 one TCP stream, median of %d: **%s MB/s**.\n\n", len(res.Iperf3), fmtVal(iperf))
	rounds := res.Config["rounds"]
	fmt.Fprintf(&b, "Medians of %v rounds (MB = 10^6 bytes). Best peer = best of the peers in this run; ratio = ferry ÷ best peer.\n\n", rounds)
	b.WriteString("| workload | unit |")
	for _, s := range res.Servers {
		fmt.Fprintf(&b, " %s |", s)
	}
	b.WriteString(" best peer | ferry ÷ best | target | met |\n|---|---|")
	for range res.Servers {
		b.WriteString("--:|")
	}
	b.WriteString("---|--:|---|---|\n")
	for _, w := range res.Workloads {
		row := res.Samples[w.ID]
		if row == nil && res.Errors[w.ID] == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s |", w.Name, w.Unit)
		best, bestName := math.NaN(), ""
		for _, s := range res.Servers {
			v := medianOf(row[s], func(x sample) float64 { return x.Value })
			cell := fmtVal(v)
			if e := res.Errors[w.ID][s]; e != "" && len(row[s]) == 0 {
				cell = "error"
			} else if len(row[s]) == 0 {
				cell = "n/a"
			}
			fmt.Fprintf(&b, " %s |", cell)
			if s != Ferry && !math.IsNaN(v) {
				if math.IsNaN(best) || (w.LowerBetter && v < best) || (!w.LowerBetter && v > best) {
					best, bestName = v, s
				}
			}
		}
		fv := medianOf(row[Ferry], func(x sample) float64 { return x.Value })
		ratio := fv / best
		target, met := "", ""
		if w.LowerBetter {
			target = fmt.Sprintf("≤ %d KiB", idleTargetKiB)
			met = yesNo(fv <= idleTargetKiB)
		} else {
			f := targetFactor[w.ID]
			target = fmt.Sprintf("≥ %.1f×", f)
			ok := ratio >= f
			if w.ID == "retr" {
				target += fmt.Sprintf(", ≥ 0.9× iperf3 (%s)", fmtVal(0.9*iperf))
				ok = ok && fv >= 0.9*iperf
			}
			met = yesNo(ok)
		}
		if math.IsNaN(fv) {
			met = "–"
		}
		fmt.Fprintf(&b, " %s %s | %s | %s | %s |\n", fmtVal(best), bestName, fmtRatio(ratio), target, met)
	}
	userRates(&b, res)
	if plots != "" {
		var links []string
		for _, w := range res.Workloads {
			if len(res.Samples[w.ID]) > 0 {
				links = append(links, fmt.Sprintf("[%s](%s/%s.svg)", w.Name, plots, w.ID))
			}
		}
		if len(links) > 0 {
			b.WriteString("\nPlots (median, whiskers from the lowest to the highest round): " + strings.Join(links, " · ") + "\n")
		}
	}
	if s := res.Idle10k; s != nil {
		fmt.Fprintf(&b, "\n**%d concurrent idle sessions against ferry**: %.0f held, %d errors. %s\n",
			res.Config["idle_max"], s.Value, s.Errors, s.Note)
	}
	// CPU table: evidence that the client is not the bottleneck.
	b.WriteString("\nCPU use during each workload, median, percent of one core (2 cores = 200%): server process tree / client (harness + curl).\n\n| workload |")
	for _, s := range res.Servers {
		fmt.Fprintf(&b, " %s |", s)
	}
	b.WriteString("\n|---|")
	for range res.Servers {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, w := range res.Workloads {
		row := res.Samples[w.ID]
		if row == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s |", w.Name)
		for _, s := range res.Servers {
			if len(row[s]) == 0 {
				b.WriteString(" – |")
				continue
			}
			srv := "–"
			if v := medianOf(row[s], func(x sample) float64 { return x.ServerCPU }); v >= 0 {
				srv = fmt.Sprintf("%.0f", v)
			}
			fmt.Fprintf(&b, " %s / %.0f |", srv, medianOf(row[s], func(x sample) float64 { return x.ClientCPU }))
		}
		b.WriteString("\n")
	}
	var notes []string
	for _, w := range res.Workloads {
		for _, s := range res.Servers {
			if e := res.Errors[w.ID][s]; e != "" {
				notes = append(notes, fmt.Sprintf("- %s, %s: error in at least one round: %s", w.ID, s, firstLine(e)))
			}
			for _, x := range res.Samples[w.ID][s] {
				if x.Note != "" && strings.HasPrefix(w.ID, "idle_mem") {
					notes = append(notes, fmt.Sprintf("- %s, %s: %s", w.ID, s, x.Note))
					break
				}
			}
		}
	}
	for _, s := range res.Servers {
		if n := res.Notes[s]; n != "" {
			notes = append(notes, "- "+n)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nRun notes:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// userRates writes, for every transfer workload, the table's rate beside
// the rate a user sees (over the client's whole wall-clock time).
func userRates(b *strings.Builder, res *results) {
	var rows []string
	for _, w := range res.Workloads {
		row := res.Samples[w.ID]
		has := false
		for _, ss := range row {
			for _, x := range ss {
				has = has || x.UserRate > 0
			}
		}
		if !has {
			continue
		}
		line := fmt.Sprintf("| %s | %s |", w.Name, w.Unit)
		for _, s := range res.Servers {
			if len(row[s]) == 0 {
				line += " – |"
				continue
			}
			line += fmt.Sprintf(" %s / %s |", fmtVal(medianOf(row[s], func(x sample) float64 { return x.Value })),
				fmtVal(medianOf(row[s], func(x sample) float64 { return x.UserRate })))
		}
		rows = append(rows, line)
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("\nRate after login (the table above: curl's time after `time_pretransfer`, or from the first EPSV for workload 3) / **rate a user sees** (the work over the client's whole wall-clock time: the curl process from start to exit, or the harness's session from dial to QUIT), medians:\n\n| workload | unit |")
	for _, s := range res.Servers {
		fmt.Fprintf(b, " %s |", s)
	}
	b.WriteString("\n|---|---|")
	for range res.Servers {
		b.WriteString("--:|")
	}
	b.WriteString("\n" + strings.Join(rows, "\n") + "\n")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

const (
	beginMark = "<!-- bench:begin (generated by go run ./bench; edit outside the markers) -->"
	endMark   = "<!-- bench:end -->"
)

// writeDoc replaces the generated part of the document between the markers
// begin and end, keeping the hand-written text around it; when the markers
// are missing it appends them (and creates the document if need be).
func writeDoc(name, begin, end, md string) error {
	old, err := os.ReadFile(name)
	if err != nil {
		old = []byte("# Benchmarks\n")
	}
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		s = strings.TrimRight(s, "\n") + "\n\n" + begin + "\n" + end + "\n"
		i, j = strings.Index(s, begin), strings.Index(s, end)
	}
	i += len(begin)
	return os.WriteFile(name, []byte(s[:i]+"\n"+md+"\n"+s[j:]), 0o644)
}
