//go:build !linux

package ftpserver

import (
	"context"
	"net"
	"os"
	"time"
)

// sendFileBlocking is Linux only; elsewhere the caller uses io.Copy.
func sendFileBlocking(ctx context.Context, tcp *net.TCPConn, f *os.File, buf []byte, stall time.Duration) (int64, error, bool) {
	return 0, nil, false
}

// maxBlockedSends: no blocking sends here.
const maxBlockedSends = 0
