package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAppend(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.1:40000")
	dst := netip.MustParseAddrPort("198.51.100.2:21")
	t.Run("version 1 is one text line", func(t *testing.T) {
		if got := string(Append(nil, 1, src, dst)); got != "PROXY TCP4 192.0.2.1 198.51.100.2 40000 21\r\n" {
			t.Errorf("got %q", got)
		}
		if got := string(Append(nil, 1, netip.MustParseAddrPort("[2001:db8::1]:5"), dst)); got != "PROXY TCP6 2001:db8::1 ::ffff:198.51.100.2 5 21\r\n" {
			t.Errorf("mixed families: got %q", got)
		}
	})
	t.Run("version 2 is binary with the signature, family and addresses", func(t *testing.T) {
		want := append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"), 192, 0, 2, 1, 198, 51, 100, 2, 0x9c, 0x40, 0, 21)
		if got := Append(nil, 2, src, dst); !bytes.Equal(got, want) {
			t.Errorf("got % x\nwant % x", got, want)
		}
		if len(Append(nil, 2, netip.MustParseAddrPort("[2001:db8::1]:5"), dst)) != 16+36 {
			t.Error("IPv6 header has the wrong length")
		}
	})
}

func TestReadRoundTrips(t *testing.T) {
	for _, tc := range []struct{ src, dst string }{
		{"192.0.2.1:40000", "198.51.100.2:21"},
		{"[2001:db8::1]:5", "[2001:db8::2]:21"},
	} {
		for _, v := range []int{1, 2} {
			t.Run("version "+string(rune('0'+v))+" "+tc.src+" reads back", func(t *testing.T) {
				src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
				stream := append(Append(nil, v, src, dst), "USER x\r\n"...)
				r := bytes.NewReader(stream)
				h, err := Read(iotest.OneByteReader(r))
				if err != nil {
					t.Fatal(err)
				}
				if h.Version != v || h.Src != src || h.Dst != dst || h.Local {
					t.Errorf("got %+v", h)
				}
				rest, _ := io.ReadAll(r)
				if string(rest) != "USER x\r\n" {
					t.Errorf("Read consumed stream bytes; left %q", rest)
				}
			})
		}
	}
}

func TestReadRejectsMalformedHeaders(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"plain FTP is not a header", "USER anonymous\r\n"},
		{"an overlong version 1 line", "PROXY TCP4 " + strings.Repeat("1", 200) + "\r\n"},
		{"a version 1 line with a bad address", "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n"},
		{"a version 1 line with the wrong family", "PROXY TCP4 ::1 ::1 1 2\r\n"},
		{"a version 1 line with a port too large", "PROXY TCP4 1.2.3.4 1.2.3.4 70000 2\r\n"},
		{"a version 1 line with missing fields", "PROXY TCP4 1.2.3.4\r\n"},
		{"a version 2 header with a bad signature", "\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c"},
		{"a version 2 header with a huge body", "\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff"},
		{"a version 2 header of version 3", "\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x00"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if _, err := Read(strings.NewReader(tc.in)); err == nil || (!errors.Is(err, ErrInvalid) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)) {
				t.Errorf("Read(%q) = %v", tc.in, err)
			}
		})
	}
}

func TestReadLocalHeaders(t *testing.T) {
	for _, in := range []string{"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ff::1 ff::2 1 2\r\n", "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"} {
		h, err := Read(strings.NewReader(in))
		if err != nil || !h.Local {
			t.Errorf("Read(%q) = %+v, %v; want a local header", in, h, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(string(Append(nil, 1, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"))))
	f.Add(string(Append(nil, 2, netip.MustParseAddrPort("[2001:db8::1]:1"), netip.MustParseAddrPort("[2001:db8::2]:2"))))
	f.Add("PROXY UNKNOWN\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := Read(strings.NewReader(in))
		if err != nil || h.Local {
			return
		}
		// A header that parses must write back to something that parses the same.
		h2, err := Read(bytes.NewReader(Append(nil, h.Version, h.Src, h.Dst)))
		if err != nil || h2.Src != h.Src || h2.Dst != h.Dst {
			t.Fatalf("round trip of %+v: %+v, %v", h, h2, err)
		}
	})
}
