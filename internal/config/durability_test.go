package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage/localfs"
)

func TestDurabilityKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		want localfs.Options
	}{
		{"the defaults are durable uploads and a 24h partial age", "",
			localfs.Options{PartialMaxAge: 24 * time.Hour}},
		{"durable_uploads = false turns fsync off",
			"durable_uploads = false\n", localfs.Options{NoSync: true, PartialMaxAge: 24 * time.Hour}},
		{"partial_max_age = \"0s\" keeps partials, in atomic mode",
			"upload_mode = \"atomic\"\npartial_max_age = \"0s\"\n", localfs.Options{Atomic: true}},
		{"partial_max_age takes a duration",
			"durable_uploads = true\npartial_max_age = \"2h\"\n", localfs.Options{PartialMaxAge: 2 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.toml))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.localOptions(); got != tc.want {
				t.Errorf("localOptions() = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("a negative partial_max_age is refused", func(t *testing.T) {
		c := validConfig(t)
		c.PartialMaxAge = Dur(-time.Hour)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "partial_max_age: must not be negative") {
			t.Errorf("Validate() = %v, want a partial_max_age error", err)
		}
	})
}
