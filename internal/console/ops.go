package console

import (
	"errors"
	"net/http"
	"net/netip"
	"time"
)

// The operations below are the one implementation behind both the API and
// the web pages: each checks its input, acts, and logs and records the
// action with the admin's name.

var errNotBanned = errors.New("the address is not banned")

func (c *Console) closeSession(r *http.Request, id string) error {
	if err := c.srv.CloseSession(id); err != nil {
		return err
	}
	c.action(r, "close_session", "session", id)
	return nil
}

func (c *Console) cancelTransfer(r *http.Request, id string) error {
	if err := c.srv.CancelTransfer(id); err != nil {
		return err
	}
	c.action(r, "cancel_transfer", "session", id)
	return nil
}

func (c *Console) ban(r *http.Request, addrText, durText string) (BanJSON, error) {
	addr, d, err := parseBan(addrText, durText)
	if err != nil {
		return BanJSON{}, err
	}
	c.srv.Ban(addr, d)
	c.action(r, "ban", "addr", addr.String(), "for", d.String())
	return BanJSON{Addr: addr.String(), Until: time.Now().Add(d)}, nil
}

func (c *Console) unban(r *http.Request, addrText string) error {
	addr, err := netip.ParseAddr(addrText)
	if err != nil {
		return errors.New("not an IP address")
	}
	if !c.srv.Unban(addr) {
		return errNotBanned
	}
	c.action(r, "unban", "addr", addr.Unmap().String())
	return nil
}
