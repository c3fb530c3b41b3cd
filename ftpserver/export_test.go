package ftpserver

import "net"

// NewRecordConn exposes recordConn to the external tests.
func NewRecordConn(c net.Conn) net.Conn { return &recordConn{Conn: c} }

// TLSBookLen is the number of TLS sessions srv's current options record
// for session reuse.
func TLSBookLen(srv *Server) int { return srv.options().tlsBook.len() }
