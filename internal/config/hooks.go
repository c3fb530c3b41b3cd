package config

import (
	"fmt"

	"github.com/ferryftp/ferry/internal/hooks"
)

// Hook is one [[hooks]] entry: a webhook (url) or a command that gets
// some of the server's events (docs/operations.md, "Event hooks").
type Hook struct {
	// Events are the event names the hook gets, such as "upload",
	// "delete" (docs/configuration.md lists them).
	Events []string `toml:"events"`
	// URL is a webhook's address: events are POSTed to it as JSON.
	URL string `toml:"url"`
	// Secret signs a webhook's body (X-Ferry-Signature, HMAC-SHA256).
	Secret string `toml:"secret"`
	// Command is a command's argv, run without a shell.
	Command []string `toml:"command"`
	// Timeout bounds each attempt (default "10s").
	Timeout *Duration `toml:"timeout"`
	// Retries is how often a failed delivery is tried again (default 3
	// for a webhook, 0 for a command; -1 none).
	Retries int `toml:"retries"`
	// Queue bounds the events waiting for delivery (default 1000).
	Queue int `toml:"queue"`
	// Concurrency is how many deliveries run at once (default 1 for a
	// webhook, 4 for a command).
	Concurrency int `toml:"concurrency"`
	// Veto makes an "upload" hook synchronous: its failure removes the
	// file and the client gets 550.
	Veto bool `toml:"veto"`
	// Batch, above 1, makes a webhook post up to this many events per
	// request, as a JSON array.
	Batch int `toml:"batch"`
	// BatchWait is how long a batching webhook waits for a batch to fill
	// (default "1s").
	BatchWait *Duration `toml:"batch_wait"`
}

// hookConfigs converts the [[hooks]] entries.
func (c *Config) hookConfigs() []hooks.Config {
	var out []hooks.Config
	for _, h := range c.Hooks {
		out = append(out, hooks.Config{Events: h.Events, URL: h.URL, Secret: h.Secret, Command: h.Command,
			Timeout: h.Timeout.get(), Retries: h.Retries, Queue: h.Queue, Concurrency: h.Concurrency, Veto: h.Veto,
			Batch: h.Batch, BatchWait: h.BatchWait.get()})
	}
	return out
}

// validateHooks checks the [[hooks]] entries.
func (c *Config) validateHooks(add func(key, format string, args ...any)) {
	for i, h := range c.hookConfigs() {
		if err := h.Validate(); err != nil {
			add(fmt.Sprintf("hooks[%d]", i), "%v", err)
		}
	}
}

// hookTimeout is the server's bound on the veto hooks of one upload: the
// sum of their timeouts, so that each gets its own.
func (c *Config) hookTimeout() *Duration {
	var d Duration
	for _, h := range c.Hooks {
		if h.Veto {
			t := Duration(hooks.DefaultTimeout)
			if h.Timeout != nil && *h.Timeout > 0 {
				t = *h.Timeout
			}
			d += t
		}
	}
	return &d
}
