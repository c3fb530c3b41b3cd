package config

import (
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
)

func TestLoginCache(t *testing.T) {
	t.Run("a negative TTL is refused", func(t *testing.T) {
		c := validConfig(t)
		c.Security.LoginCacheTTL = Dur(-1)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "security.login_cache_ttl") {
			t.Errorf("Validate() = %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		ttl  *Duration
	}{{"logins work with the default cache", nil}, {"logins work with the cache off", Dur(0)}} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			c.Security.LoginCacheTTL = tc.ttl
			opts, closeFn, err := c.ServerOptions(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			for i := 0; i < 2; i++ {
				if _, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wonderland"}); err != nil {
					t.Fatalf("login %d: %v", i, err)
				}
				if _, err := opts.Auth.Authenticate(t.Context(), ftpserver.LoginInfo{User: "alice", Password: "wrong"}); err == nil {
					t.Fatalf("login %d: a wrong password passed", i)
				}
			}
		})
	}
}
