package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// plot is one workload's chart: a horizontal bar per series at its median,
// with a whisker from the lowest to the highest round.
type plot struct {
	Title, Unit string
	Run         string // which run: date and rounds
	LowerBetter bool
	Series      []series
}

// series is one server or client of a plot.
type series struct {
	Name   string
	Values []float64 // one per round
	Ours   bool      // ferry: drawn in another colour
}

const (
	svgWidth  = 720
	svgLabelW = 230 // left column for the names
	svgRightW = 110 // right margin for the value text
	svgRowH   = 30
	svgTop    = 48
)

// svg renders the plot as a standalone SVG document.
func (p plot) svg() []byte {
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	h := svgTop + svgRowH*len(p.Series) + 34
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n",
		svgWidth, h, svgWidth, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	better := "higher is better"
	if p.LowerBetter {
		better = "lower is better"
	}
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", esc(p.Title))
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555555" font-size="11">%s, %s; bar: median, whisker: min–max of the rounds</text>`+"\n", esc(p.Unit), better)
	if p.Run != "" {
		fmt.Fprintf(&b, `<text x="%d" y="20" text-anchor="end" fill="#555555" font-size="11">%s</text>`+"\n", svgWidth-10, esc(p.Run))
	}
	top := 0.0
	for _, s := range p.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = max(top, v)
			}
		}
	}
	if top <= 0 {
		top = 1
	}
	plotW := float64(svgWidth - svgLabelW - svgRightW)
	x := func(v float64) float64 { return svgLabelW + plotW*v/top }
	for i, s := range p.Series {
		y := float64(svgTop + i*svgRowH)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", svgLabelW-8, y+svgRowH/2+4, esc(s.Name))
		vals := slices.DeleteFunc(slices.Clone(s.Values), func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
		if len(vals) == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#999999">no result</text>`+"\n", svgLabelW+4, y+svgRowH/2+4)
			continue
		}
		med := median(vals)
		lo, hi := slices.Min(vals), slices.Max(vals)
		fill := "#9aa5b1"
		if s.Ours {
			fill = "#2b7bb9"
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: median %s %s</title></rect>`+"\n",
			svgLabelW, y+5, x(med)-svgLabelW, svgRowH-10, fill, esc(s.Name), fmtVal(med), esc(p.Unit))
		cy := y + svgRowH/2
		fmt.Fprintf(&b, `<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="#222222" stroke-width="1.5" fill="none"/>`+"\n",
			x(lo), cy, x(hi), x(lo), cy-6, cy+6, x(hi), cy-6, cy+6)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", max(x(hi), x(med))+6, cy+4, fmtVal(med))
	}
	axisY := svgTop + svgRowH*len(p.Series) + 4
	fmt.Fprintf(&b, `<path d="M%d %dH%.0f" stroke="#555555"/>`+"\n", svgLabelW, axisY, svgLabelW+plotW)
	for _, f := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555555" font-size="11">%s</text>`+"\n",
			svgLabelW+plotW*f, axisY+16, fmtVal(top*f))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// plots returns one plot per workload that has results: the server
// workloads (ferry and the peers) and the client and proxy workloads.
func plots(res *results) map[string]plot {
	out := map[string]plot{}
	run := fmt.Sprintf("%s, %v rounds", res.Date, res.Config["rounds"])
	for _, w := range res.Workloads {
		row := res.Samples[w.ID]
		if len(row) == 0 {
			continue
		}
		p := plot{Title: w.Name, Unit: w.Unit, LowerBetter: w.LowerBetter, Run: run}
		for _, s := range res.Servers {
			p.Series = append(p.Series, series{Name: s, Values: values(row[s]), Ours: s == Ferry})
		}
		out[w.ID] = p
	}
	for _, w := range res.Tools {
		row := res.ToolSamples[w.ID]
		if len(row) == 0 {
			continue
		}
		p := plot{Title: w.Name, Unit: w.Unit + " (rate a user sees: whole client process, login included)", Run: run}
		for _, k := range w.Contenders {
			p.Series = append(p.Series, series{Name: k.Name, Values: values(row[k.Name]), Ours: strings.HasPrefix(k.Name, "ferry")})
		}
		out[w.ID] = p
	}
	return out
}

func values(ss []sample) []float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = s.Value
	}
	return v
}

// writePlots writes dir/<workload>.svg for every plot and returns the files.
func writePlots(res *results, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ps := plots(res)
	var files []string
	for _, id := range slices.Sorted(maps.Keys(ps)) {
		name := filepath.Join(dir, id+".svg")
		if err := os.WriteFile(name, ps[id].svg(), 0o644); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}
