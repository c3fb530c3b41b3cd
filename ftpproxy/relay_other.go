//go:build !linux

package ftpproxy

import (
	"context"
	"net"
)

// relayBlocking is Linux only; elsewhere relay uses io.Copy.
func relayBlocking(ctx context.Context, dst, src *net.TCPConn) (int64, error, bool) {
	return 0, nil, false
}
