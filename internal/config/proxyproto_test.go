package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestProxyProtocolFrom(t *testing.T) {
	t.Run("a value that is not a network is refused", func(t *testing.T) {
		c := validConfig(t)
		c.ProxyProtocolFrom = []string{"10.0.0.0/8", "lb.example"}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "proxy_protocol_from[1]") {
			t.Errorf("Validate() = %v", err)
		}
	})
	t.Run("networks reach the server options", func(t *testing.T) {
		c := validConfig(t)
		c.ProxyProtocolFrom = []string{"10.0.0.7/8", "2001:db8::/32"}
		opts, closeFn, err := c.ServerOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
		if !slices.Equal(opts.ProxyProtocolFrom, want) {
			t.Errorf("got %v", opts.ProxyProtocolFrom)
		}
	})
}
