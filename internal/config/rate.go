package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Rate is a bandwidth limit in bytes per second, written in the file as a
// string with a unit: "500KiB/s", "10MiB/s", "2MB/s", "1.5GiB/s" (the
// "/s" may be left out); "0" or "" means unlimited. KiB, MiB, GiB and TiB
// are powers of 1024, KB, MB, GB and TB powers of 1000, B is bytes.
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

// ParseRate reads a rate as the configuration file and `ferry user set`
// write it (see Rate) and returns bytes per second.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" || t == "0" {
		return 0, nil
	}
	if n, x, ok := withUnit(strings.TrimSuffix(t, "/s")); ok {
		if n == 0 && x > 0 {
			return 0, fmt.Errorf("rate %q is less than one byte per second", s)
		}
		return n, nil
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
