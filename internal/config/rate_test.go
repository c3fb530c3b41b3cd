package config

import "testing"

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "0": 0, "500KiB/s": 500 << 10, "10MiB/s": 10 << 20, "2MB/s": 2e6, "1.5GiB": 3 << 29,
		"64 KiB/s": 64 << 10, "100B/s": 100, "1KB": 1000, "0B/s": 0, "1TiB/s": 1 << 40,
	} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"10", "fast", "-1MiB/s", "10Mb/s", "0.1B/s", "1e30GiB/s", "MiB/s"} {
		if got, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", in, got)
		}
	}
	for _, bps := range []int64{0, 1 << 20, 3 << 29, 1000, 500 << 10} {
		if got, err := ParseRate(FormatRate(bps)); err != nil || got != bps {
			t.Errorf("ParseRate(FormatRate(%d)) = %d, %v", bps, got, err)
		}
	}
}

func TestRatesInTheFile(t *testing.T) {
	c, err := Parse([]byte(`
[limits]
max_download_rate = "100MiB/s"
session_upload_rate = "2MiB/s"

[anonymous]
enabled = true
root = "/srv/pub"
download_rate = "512KiB/s"

[[users]]
name = "cam"
password = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$kQ0/s3Q8Jm8tPbpi6cJvN6Z0tdlEf1OBAd0oZtlDtvM"
root = "/srv/cam"
upload_rate = "1MB/s"
`))
	if err != nil {
		t.Fatal(err)
	}
	o := c.serverOptions(nil, nil)
	if o.MaxRates.Download != 100<<20 || o.MaxRates.Upload != 0 || o.SessionRates.Upload != 2<<20 {
		t.Errorf("server rates %+v, session rates %+v", o.MaxRates, o.SessionRates)
	}
	if u := c.staticUsers(); u[0].Rates.Upload != 1e6 || u[0].Rates.Download != 0 {
		t.Errorf("user rates %+v", u[0].Rates)
	}
	if a := c.anonymous(); a == nil || a.Rates.Download != 512<<10 {
		t.Errorf("anonymous %+v", a)
	}
	if _, err := Parse([]byte("[limits]\nmax_download_rate = 1000\n")); err == nil {
		t.Error("a bare number was accepted as a rate")
	}
}
