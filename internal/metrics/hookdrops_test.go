package metrics_test

import (
	"testing"

	"github.com/ferryftp/ferry/internal/metrics"
)

func TestHookDropsAreExported(t *testing.T) {
	reg := metrics.NewRegistry()
	m, err := metrics.NewServer(reg)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(7)
	if err := m.CountHookDrops(func() uint64 { return n }); err != nil {
		t.Fatal(err)
	}
	value := func() float64 {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "ferry_hook_events_dropped_total" {
				return f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("ferry_hook_events_dropped_total is not exported")
		return 0
	}
	if v := value(); v != 7 {
		t.Fatalf("value %v, want 7", v)
	}
	n = 9 // read at each scrape
	if v := value(); v != 9 {
		t.Fatalf("value %v, want 9", v)
	}
}
