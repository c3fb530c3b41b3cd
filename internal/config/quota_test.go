package config

import (
	"testing"

	"github.com/ferryftp/ferry/storage/quota"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"", 0, false}, {"0", 0, false}, {"unlimited", -1, false}, {"-1", -1, false},
		{"123", 123, false}, {"10GiB", 10 << 30, false}, {"1.5MiB", 3 << 19, false},
		{"2TB", 2e12, false}, {"500 KB", 500e3, false}, {"7B", 7, false},
		{"ten", 0, true}, {"-5GiB", 0, true}, {"10XB", 0, true}, {"99999999TiB", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
		if !tc.bad && tc.want != 0 {
			if back, err := ParseSize(FormatSize(got)); err != nil || back != got {
				t.Errorf("ParseSize(FormatSize(%d)=%q) = %d, %v", got, FormatSize(got), back, err)
			}
		}
	}
}

func TestUserQuotasTakeTheDefaults(t *testing.T) {
	c, err := Parse([]byte(`
[limits]
user_max_bytes = "1GiB"
user_max_files = 100
[anonymous]
max_bytes = "5MB"
[[users]]
name = "own"
max_bytes = "10GiB"
max_files = 7
[[users]]
name = "default"
[[users]]
name = "exempt"
max_bytes = "unlimited"
max_files = -1
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]quota.Limits{
		"own":     {MaxBytes: 10 << 30, MaxFiles: 7},
		"default": {MaxBytes: 1 << 30, MaxFiles: 100},
		"exempt":  {},
	}
	for _, u := range c.staticUsers() {
		if u.Quota != want[u.Name] {
			t.Errorf("user %s quota %+v, want %+v", u.Name, u.Quota, want[u.Name])
		}
	}
	c.Anonymous.Enabled = true
	if got := c.anonymous().Quota; got != (quota.Limits{MaxBytes: 5e6}) {
		t.Errorf("anonymous quota %+v", got)
	}
	if _, err := Parse([]byte("[limits]\nuser_max_bytes = true\n")); err == nil {
		t.Error("a boolean size was accepted")
	}
}
