// Package contrib holds no code: its tests check the files beside it (the
// systemd unit, the fail2ban filter and jail) and the repository's
// Dockerfile with the real tools (systemd-analyze, fail2ban-regex,
// BuildKit's Dockerfile parser and linter). docs/operations.md says what
// each test checks.
package contrib
