package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Rate is a bandwidth limit in bytes per second, written in the file as a
// string with a unit: "500KiB/s", "10MiB/s", "2MB/s", "1.5GiB/s" (the
// "/s" may be left out); "0" or "" means unlimited. KiB, MiB and GiB are
// powers of 1024, KB, MB and GB powers of 1000, B is bytes.
type Rate int64

// UnmarshalTOML implements toml.Unmarshaler. A bare number is refused: the
// unit would be a guess.
func (r *Rate) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("a rate must be a string with a unit, such as \"10MiB/s\", not %v", v)
	}
	x, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = Rate(x)
	return nil
}

var rateUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// ParseRate reads a rate as the configuration file and `ferry user set`
// write it (see Rate) and returns bytes per second.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" || t == "0" {
		return 0, nil
	}
	t = strings.TrimSuffix(t, "/s")
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f < 0 || f*u.mult >= 1<<62 {
			break
		}
		if f > 0 && f*u.mult < 1 {
			return 0, fmt.Errorf("rate %q is less than one byte per second", s)
		}
		return int64(f * u.mult), nil
	}
	return 0, fmt.Errorf("invalid rate %q: write a number and a unit, such as \"500KiB/s\" or \"10MB/s\"", s)
}

// FormatRate writes bytes per second the way ParseRate reads them, in the
// largest binary unit that keeps it whole ("0" for unlimited).
func FormatRate(bps int64) string {
	switch {
	case bps <= 0:
		return "0"
	case bps%(1<<30) == 0:
		return strconv.FormatInt(bps>>30, 10) + "GiB/s"
	case bps%(1<<20) == 0:
		return strconv.FormatInt(bps>>20, 10) + "MiB/s"
	case bps%(1<<10) == 0:
		return strconv.FormatInt(bps>>10, 10) + "KiB/s"
	}
	return strconv.FormatInt(bps, 10) + "B/s"
}
