package ftpserver

import "net"

// NewRecordConn exposes recordConn to the external tests.
func NewRecordConn(c net.Conn) net.Conn { return &recordConn{Conn: c} }
