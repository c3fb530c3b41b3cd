package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferryftp/ferry/storage/quota"
)

// Size is a storage size in bytes, written in the file as a string with a
// unit: "500MiB", "10GiB", "2TB" (KiB, MiB, GiB, TiB are powers of 1024;
// KB, MB, GB, TB of 1000; B is bytes) or as a bare integer of bytes. "0"
// or "" means not set; "unlimited" (stored as -1) means no limit, even
// where a default applies.
type Size int64

// UnmarshalTOML implements toml.Unmarshaler.
func (s *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < -1 {
			return fmt.Errorf("size %d is negative", x)
		}
		*s = Size(x)
		return nil
	case string:
		n, err := ParseSize(x)
		*s = Size(n)
		return err
	}
	return fmt.Errorf("a size must be a string with a unit, such as \"10GiB\", not %v", v)
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseSize reads a size as the configuration file and `ferry user set`
// write it (see Size) and returns bytes: 0 for "0" or "", -1 for
// "unlimited".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "" || t == "0":
		return 0, nil
	case strings.EqualFold(t, "unlimited") || t == "-1":
		return -1, nil
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	if n, _, ok := withUnit(t); ok {
		return n, nil
	}
	return 0, fmt.Errorf("invalid size %q: write a number and a unit, such as \"500MiB\" or \"10GB\", or \"unlimited\"", s)
}

// withUnit reads a number with a byte unit of sizeUnits ("1.5GiB",
// "500 KB"), the notation of sizes and rates; ok is false when t is not
// one; x is the number as written, so that a fraction of a byte (n 0)
// can be told from a zero.
func withUnit(t string) (n int64, x float64, ok bool) {
	for _, u := range sizeUnits {
		num, found := strings.CutSuffix(t, u.suffix)
		if !found {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f < 0 || f*u.mult >= 1<<62 {
			return 0, 0, false
		}
		return int64(f * u.mult), f, true
	}
	return 0, 0, false
}

// FormatSize writes bytes the way ParseSize reads them, in the largest
// binary unit that keeps it whole ("0" for none, "unlimited" for -1).
func FormatSize(n int64) string {
	switch {
	case n < 0:
		return "unlimited"
	case n == 0:
		return "0"
	}
	for _, u := range []struct {
		shift  uint
		suffix string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// QuotaLimits combines a user's own limits with the defaults: a value of
// 0 takes the default, -1 means unlimited.
func QuotaLimits(maxBytes, maxFiles, defBytes, defFiles int64) quota.Limits {
	pick := func(own, def int64) int64 {
		if own == 0 {
			own = def
		}
		return max(own, 0) // -1 (unlimited) becomes 0, quota's "no limit"
	}
	return quota.Limits{MaxBytes: pick(maxBytes, defBytes), MaxFiles: pick(maxFiles, defFiles)}
}
