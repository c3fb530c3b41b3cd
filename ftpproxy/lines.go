package ftpproxy

import (
	"errors"
	"io"
	"strings"
)

// errBareLF is returned by a crlfReader that saw a line feed without a
// carriage return before it.
var errBareLF = errors.New("ftpproxy: line ends with a bare LF")

// crlfReader passes bytes through but fails at a LF not preceded by CR, so
// that the proxy and the peer behind it cannot disagree on where a line
// ends. It sits below wire.Reader (which would accept a bare LF as a line
// end); Telnet sequences between CR and LF are not expected here.
type crlfReader struct {
	r      io.Reader
	lastCR bool
	err    error
}

func (c *crlfReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' && !c.lastCR {
			// Deliver the bytes before the offending line's end; the
			// reader then fails inside that line.
			c.err = errBareLF
			return i, nil
		}
		c.lastCR = p[i] == '\r'
	}
	return n, err
}

// checkLine rejects a control line (already without its CRLF) that holds a
// NUL or a carriage return: either could end the line early on the other
// side. It returns a description of the problem or "".
func checkLine(line string) string {
	switch {
	case strings.IndexByte(line, 0) >= 0:
		return "NUL in line"
	case strings.IndexByte(line, '\r') >= 0:
		return "bare CR in line"
	}
	return ""
}
