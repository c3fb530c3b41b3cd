package metrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// docBlock returns the yaml block that follows marker in
// docs/operations.md.
func docBlock(t *testing.T, marker string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- "+marker+" -->\n```yaml\n")
	if !ok {
		t.Fatalf("docs/operations.md has no yaml block after <!-- %s -->", marker)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("the %s block is not closed", marker)
	}
	return block
}

// alertTests are promtool unit tests of the documented rules: the alerts
// fire on made-up series that call for them, and only on those.
const alertTests = `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'ferry_passive_ports_in_use{instance="a"}'
        values: '95x10'
      - series: 'ferry_passive_ports{instance="a"}'
        values: '100x10'
      - series: 'ferry_passive_ports_in_use{instance="b"}'
        values: '10x10'
      - series: 'ferry_passive_ports{instance="b"}'
        values: '100x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: FerryPassiveRangeExhausted
        exp_alerts:
          - exp_labels: {severity: critical, instance: a}
            exp_annotations:
              summary: "ferry a: 95% of the passive port range in use"
              description: "Passive transfers fail with 425 once the range is full: widen [passive] port_min..port_max (and the firewall's range)."
  - interval: 1m
    input_series:
      - series: 'ferry_logins_total{instance="a",method="password",result="failed"}'
        values: '0+120x20'
      - series: 'ferry_logins_total{instance="a",method="password",result="ok"}'
        values: '0+600x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: FerryLoginFailureSpike
        exp_alerts:
          - exp_labels: {severity: warning, instance: a}
            exp_annotations:
              summary: "ferry a: 2 failed logins per second"
              description: "Probably password guessing; ferry_bans_active shows the addresses banned for it."
  - interval: 1m
    input_series:
      - series: 'ferry_storage_errors_total{instance="a",op="RETR",code="550"}'
        values: '0+10x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: FerryStorageErrors
        exp_alerts: []
`

func TestDocsPrometheusConfig(t *testing.T) {
	promtool := needTool(t, "promtool")
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("rules.yml", docBlock(t, "prometheus-alert-rules"))
	scrape := write("prometheus.yml", docBlock(t, "prometheus-scrape-config"))
	tests := write("rules_test.yml", alertTests)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"the scrape configuration passes promtool check config", []string{"check", "config", scrape}},
		{"the alert rules pass promtool check rules", []string{"check", "rules", rules}},
		{"the alerts fire when they should (promtool test rules)", []string{"test", "rules", tests}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(promtool, c.args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
		})
	}
}
