package config

import (
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
)

func TestSendfileKey(t *testing.T) {
	for toml, want := range map[string]ftpserver.SendfileMode{
		"":                      ftpserver.SendfileAuto,
		"sendfile = \"auto\"":   ftpserver.SendfileAuto,
		"sendfile = \"always\"": ftpserver.SendfileAlways,
		"sendfile = \"never\"":  ftpserver.SendfileNever,
	} {
		c, err := Parse([]byte(toml + "\n"))
		if err != nil {
			t.Fatalf("%q: %v", toml, err)
		}
		if got := c.serverOptions(nil, nil).Sendfile; got != want {
			t.Errorf("%q: Sendfile = %v, want %v", toml, got, want)
		}
	}
	c := validConfig(t)
	c.Sendfile = "yes"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sendfile") {
		t.Errorf("sendfile = \"yes\": Validate() = %v, want an error naming the key", err)
	}
}
