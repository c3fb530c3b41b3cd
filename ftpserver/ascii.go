package ftpserver

import "io"

// TYPE A conversion (RFC 959 3.1.1.1): the network form ends lines with CRLF,
// the stored form with LF.

// toCRLF writes data with every bare LF turned into CRLF.
type toCRLF struct {
	w      io.Writer
	lastCR bool
	buf    []byte
}

func (t *toCRLF) Write(p []byte) (int, error) {
	t.buf = t.buf[:0]
	for _, b := range p {
		if b == '\n' && !t.lastCR {
			t.buf = append(t.buf, '\r')
		}
		t.buf = append(t.buf, b)
		t.lastCR = b == '\r'
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// fromCRLF reads data with every CRLF turned into LF (a lone CR is kept).
type fromCRLF struct {
	r       io.Reader
	pending bool // a CR was read last and not yet emitted
	in, out []byte
	left    []byte // converted bytes not yet returned
	err     error
}

func (f *fromCRLF) Read(p []byte) (int, error) {
	for len(f.left) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if f.in == nil {
			f.in = make([]byte, 32*1024)
		}
		n, err := f.r.Read(f.in)
		out := f.out[:0]
		for _, b := range f.in[:n] {
			if f.pending {
				f.pending = false
				if b != '\n' {
					out = append(out, '\r')
				}
			}
			if b == '\r' {
				f.pending = true
				continue
			}
			out = append(out, b)
		}
		if err != nil && f.pending {
			out = append(out, '\r')
			f.pending = false
		}
		f.out, f.left, f.err = out, out, err
	}
	n := copy(p, f.left)
	f.left = f.left[n:]
	return n, nil
}
