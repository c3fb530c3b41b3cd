package main

import (
	"fmt"
	"maps"
	"math"
	"os/exec"
	"slices"
	"strings"
)

// toolMarkdown renders the generated part of the "Client workloads" or
// "Proxy workloads" section (group "client" or "proxy"); "" when none of
// its workloads ran. plots is the plots folder relative to the document.
func toolMarkdown(res *results, group, rawName, plots string) string {
	var ws []toolInfo
	for _, w := range res.Tools {
		if w.Group == group {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return ""
	}
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "Run of %s on %d CPUs (%s), %d MiB RAM, Linux %s, %s.\n\n", res.Date, m.NProc, m.CPU, m.MemMiB, m.Kernel, m.Go)
	fmt.Fprintf(&b, "Command (as root, from the module root): `%s`  \nRaw numbers: [`%s`](../%s)\n\n", res.Command, rawName, rawName)
	if len(res.ToolVersions) > 0 {
		var vs []string
		for _, k := range slices.Sorted(maps.Keys(res.ToolVersions)) {
			vs = append(vs, fmt.Sprintf("%s: %s", k, res.ToolVersions[k]))
		}
		b.WriteString("Clients: " + strings.Join(vs, "; ") + ".\n\n")
	}
	fmt.Fprintf(&b, "Medians of %v rounds (MB = 10^6 bytes). **Rate a user sees** = the work ÷ the client process's wall-clock time, "+
		"from its start to its exit, login included; *after login* = curl's own rate after `time_pretransfer` "+
		"(the other clients report none). Every run's result was checked (file count, sizes, CRC-32C of every file) before it counted.\n\n",
		res.Config["rounds"])
	b.WriteString("| workload | client | rate a user sees | min–max | after login | ÷ " + "baseline | CPU: client / vsftpd / proxy (% of a core) |\n|---|---|--:|---|--:|--:|---|\n")
	var targets []string
	for _, w := range ws {
		row := res.ToolSamples[w.ID]
		val := func(name string) float64 {
			return medianOf(row[name], func(x sample) float64 { return x.Value })
		}
		base := val(w.Base)
		for _, k := range w.Contenders {
			ss := row[k.Name]
			if len(ss) == 0 {
				cell := "n/a"
				if res.ToolErrors[w.ID][k.Name] != "" {
					cell = "error"
				}
				fmt.Fprintf(&b, "| %s (%s) | %s | %s | | | | |\n", w.Name, w.Unit, k.Name, cell)
				continue
			}
			lo, hi := minMax(ss)
			narrow := "–"
			if v := medianOf(ss, func(x sample) float64 { return x.Narrow }); v > 0 {
				narrow = fmtVal(v)
			}
			cpu := fmt.Sprintf("%.0f / %.0f", medianOf(ss, func(x sample) float64 { return x.ClientCPU }),
				medianOf(ss, func(x sample) float64 { return x.ServerCPU }))
			if v := medianOf(ss, func(x sample) float64 { return x.ProxyCPU }); v > 0 {
				cpu += fmt.Sprintf(" / %.0f", v)
			}
			name := k.Name
			if k.Name == w.Ours {
				name = "**" + name + "**"
			}
			fmt.Fprintf(&b, "| %s (%s) | %s | %s | %s–%s | %s | %s | %s |\n", w.Name, w.Unit, name, fmtVal(val(k.Name)),
				fmtVal(lo), fmtVal(hi), narrow, fmtRatio(val(k.Name)/base), cpu)
		}
		ours := val(w.Ours)
		r := ours / base
		met := yesNo(r >= w.Target)
		if math.IsNaN(r) {
			met = "–"
		}
		targets = append(targets, fmt.Sprintf("| %s ≥ %.2g × %s (%s) | %s | %s | %s | %s |",
			w.Ours, w.Target, w.Base, w.Name, fmtVal(ours), fmtVal(base), fmtRatio(r), met))
	}
	b.WriteString("\nTargets of issue 15, from the medians of this run (the rate a user sees; ferry with its defaults, verification on):\n\n" +
		"| target | ferry | baseline | ratio | met |\n|---|--:|--:|--:|---|\n" + strings.Join(targets, "\n") + "\n")
	if plots != "" {
		b.WriteString("\n")
		for _, w := range ws {
			if len(res.ToolSamples[w.ID]) > 0 {
				fmt.Fprintf(&b, "![%s](%s/%s.svg)\n", w.Name, plots, w.ID)
			}
		}
	}
	var notes []string
	for _, w := range ws {
		for _, k := range w.Contenders {
			if e := res.ToolErrors[w.ID][k.Name]; e != "" {
				notes = append(notes, fmt.Sprintf("- %s, %s: error in at least one round: %s", w.ID, k.Name, firstLine(e)))
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nRun notes:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

func minMax(ss []sample) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		lo, hi = min(lo, s.Value), max(hi, s.Value)
	}
	return lo, hi
}

// toolVersions asks each client for its version (first line).
func toolVersions() map[string]string {
	v := map[string]string{}
	for name, args := range map[string][]string{
		"curl": {"curl", "--version"}, "lftp": {"lftp", "--version"}, "rclone": {"rclone", "version"},
	} {
		out, err := exec.Command(args[0], args[1:]...).Output()
		if err != nil {
			continue
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		v[name] = strings.TrimSpace(line)
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		v["ferry"] = "built from " + strings.TrimSpace(string(out))
	}
	return v
}
