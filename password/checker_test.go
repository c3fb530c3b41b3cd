package password

import (
	"context"
	"testing"
)

func TestChecker(t *testing.T) {
	h, err := Hash("right")
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(1)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		hash  string
		known bool
		pw    string
		want  bool
	}{
		{"the right password of a known user passes", h, true, "right", true},
		{"a wrong password fails", h, true, "wrong", false},
		{"an unknown user fails even with the dummy's password", "", false, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := c.Check(ctx, tc.hash, tc.known, tc.pw)
			if err != nil || ok != tc.want {
				t.Errorf("Check = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	t.Run("a cancelled context stops the wait for a slot", func(t *testing.T) {
		c.sem <- struct{}{} // occupy the only slot
		defer func() { <-c.sem }()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Check(cctx, h, true, "right"); err == nil {
			t.Error("Check waited past cancellation")
		}
	})
}
