package ftp

import (
	"errors"
	"net/netip"
	"testing"
)

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("error = %v, want *Error with code %d", err, code)
	}
}

func TestParsePORT(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want string // AddrPort, or "" for an error
	}{
		{"a plain argument is parsed", "192,168,1,2,4,1", "192.168.1.2:1025"},
		{"the port is p1*256+p2", "127,0,0,1,132,209", "127.0.0.1:34001"},
		{"surrounding spaces are tolerated", "  10,0,0,1,0,21 ", "10.0.0.1:21"},
		{"leading zeros up to three digits are tolerated", "010,000,000,001,004,001", "10.0.0.1:1025"},
		{"the largest values are accepted", "255,255,255,255,255,255", "255.255.255.255:65535"},
		{"port zero is parsed for the caller to refuse", "1,2,3,4,0,0", "1.2.3.4:0"},
		{"an empty argument is rejected", "", ""},
		{"five numbers are rejected", "1,2,3,4,5", ""},
		{"seven numbers are rejected", "1,2,3,4,5,6,7", ""},
		{"a number above 255 is rejected", "1,2,3,256,5,6", ""},
		{"four digits are rejected", "1,2,3,0001,5,6", ""},
		{"spaces inside are rejected", "1, 2,3,4,5,6", ""},
		{"a sign is rejected", "1,2,3,+4,5,6", ""},
		{"a trailing comma is rejected", "1,2,3,4,5,6,", ""},
		{"an empty field is rejected", "1,,3,4,5,6", ""},
		{"dots instead of commas are rejected", "1.2.3.4,5,6", ""},
		{"parentheses are rejected", "(1,2,3,4,5,6)", ""},
		{"an EPRT argument is rejected", "|1|1.2.3.4|5|", ""},
		{"a tab is rejected", "\t1,2,3,4,5,6", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePORT(tt.arg)
			if tt.want == "" {
				wantCode(t, err, CodeArgSyntax)
				return
			}
			if err != nil || got != netip.MustParseAddrPort(tt.want) {
				t.Fatalf("ParsePORT(%q) = %v, %v; want %s", tt.arg, got, err, tt.want)
			}
		})
	}
}

func TestFormatPORTAndPASV(t *testing.T) {
	tests := []struct {
		name     string
		ap       string
		wantPORT string
		wantPASV string
	}{
		{"an IPv4 address is formatted", "192.168.1.2:1025", "192,168,1,2,4,1", "Entering Passive Mode (192,168,1,2,4,1)."},
		{"a v4-mapped address is unmapped", "[::ffff:10.0.0.1]:65535", "10,0,0,1,255,255", "Entering Passive Mode (10,0,0,1,255,255)."},
		{"an IPv6 address is refused", "[2001:db8::1]:21", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tt.ap)
			port, err1 := FormatPORT(ap)
			pasv, err2 := FormatPASVReply(ap)
			if tt.wantPORT == "" {
				if !errors.Is(err1, ErrNotIPv4) || !errors.Is(err2, ErrNotIPv4) {
					t.Fatalf("errors = %v, %v; want ErrNotIPv4", err1, err2)
				}
				return
			}
			if err1 != nil || err2 != nil || port != tt.wantPORT || pasv != tt.wantPASV {
				t.Fatalf("got %q, %v and %q, %v", port, err1, pasv, err2)
			}
		})
	}
	t.Run("the zero AddrPort is refused", func(t *testing.T) {
		if _, err := FormatPORT(netip.AddrPort{}); !errors.Is(err, ErrNotIPv4) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParsePASVReply(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{"the usual form is parsed", "Entering Passive Mode (192,168,1,2,4,1).", "192.168.1.2:1025"},
		{"a form without parentheses is parsed", "Entering Passive Mode 10,0,0,1,0,21", "10.0.0.1:21"},
		{"an equals form is parsed", "Passive mode=(127,0,0,1,200,10)", "127.0.0.1:51210"},
		{"a reply starting with its code is parsed", "227 Entering Passive Mode (1,2,3,4,5,6)", "1.2.3.4:1286"},
		{"spaces after commas are tolerated", "(1, 2, 3, 4, 5, 6)", "1.2.3.4:1286"},
		{"an earlier bad run is skipped", "(999,1,2,3,4,5) then 1,2,3,4,5,6", "1.2.3.4:1286"},
		{"a number too long is not cut short", "1234,2,3,4,5,6 and 7,7,7,7,0,7", "7.7.7.7:7"},
		{"the first run wins when there are two", "(1,1,1,1,1,1) (2,2,2,2,2,2)", "1.1.1.1:257"},
		{"no numbers is an error", "Entering Passive Mode", ""},
		{"five numbers is an error", "(1,2,3,4,5)", ""},
		{"a value above 255 is an error", "(1,2,3,4,5,256)", ""},
		{"an empty message is an error", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePASVReply(tt.msg)
			if tt.want == "" {
				if !errors.Is(err, ErrBadReply) {
					t.Fatalf("ParsePASVReply(%q) = %v, %v; want ErrBadReply", tt.msg, got, err)
				}
				return
			}
			if err != nil || got != netip.MustParseAddrPort(tt.want) {
				t.Fatalf("ParsePASVReply(%q) = %v, %v; want %s", tt.msg, got, err, tt.want)
			}
		})
	}
}

func TestParseEPRT(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want string
		code int // expected error code when want is ""
	}{
		{"an IPv4 argument is parsed", "|1|132.235.1.2|6275|", "132.235.1.2:6275", 0},
		{"an IPv6 argument is parsed", "|2|1080::8:800:200C:417A|5282|", "[1080::8:800:200c:417a]:5282", 0},
		{"another delimiter is accepted", "!1!10.0.0.1!21!", "10.0.0.1:21", 0},
		{"surrounding spaces are tolerated", " |1|10.0.0.1|21| ", "10.0.0.1:21", 0},
		{"a v4-mapped IPv6 address is unmapped", "|2|::ffff:10.0.0.1|21|", "10.0.0.1:21", 0},
		{"the highest port is accepted", "|1|10.0.0.1|65535|", "10.0.0.1:65535", 0},
		{"an unknown protocol is not supported", "|3|10.0.0.1|21|", "", CodeNetProtoNotSupported},
		{"protocol zero is not supported", "|0|10.0.0.1|21|", "", CodeNetProtoNotSupported},
		{"an IPv6 address under protocol 1 is rejected", "|1|::1|21|", "", CodeArgSyntax},
		{"an IPv4 address under protocol 2 is rejected", "|2|10.0.0.1|21|", "", CodeArgSyntax},
		{"a zone is rejected", "|2|fe80::1%eth0|21|", "", CodeArgSyntax},
		{"port zero is rejected", "|1|10.0.0.1|0|", "", CodeArgSyntax},
		{"a port above 65535 is rejected", "|1|10.0.0.1|65536|", "", CodeArgSyntax},
		{"a signed port is rejected", "|1|10.0.0.1|+21|", "", CodeArgSyntax},
		{"mismatched delimiters are rejected", "|1!10.0.0.1|21|", "", CodeArgSyntax},
		{"a missing final delimiter is rejected", "|1|10.0.0.1|21", "", CodeArgSyntax},
		{"an extra field is rejected", "|1|10.0.0.1|21|x|", "", CodeArgSyntax},
		{"a digit delimiter is rejected", "111110.0.0.11211", "", CodeArgSyntax},
		{"a space delimiter is rejected", "1 1.2.3.4 21 ", "", CodeArgSyntax},
		{"a hostname is rejected", "|1|example.com|21|", "", CodeArgSyntax},
		{"leading zeros in the address are rejected", "|1|010.0.0.1|21|", "", CodeArgSyntax},
		{"an empty protocol is rejected", "||10.0.0.1|21|", "", CodeArgSyntax},
		{"an empty argument is rejected", "", "", CodeArgSyntax},
		{"a PORT argument is rejected", "10,0,0,1,0,21", "", CodeArgSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPRT(tt.arg)
			if tt.want == "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || got != netip.MustParseAddrPort(tt.want) {
				t.Fatalf("ParseEPRT(%q) = %v, %v; want %s", tt.arg, got, err, tt.want)
			}
		})
	}
}

func TestFormatEPRT(t *testing.T) {
	tests := []struct {
		name string
		ap   netip.AddrPort
		want string
	}{
		{"IPv4 uses protocol 1", netip.MustParseAddrPort("10.0.0.1:21"), "|1|10.0.0.1|21|"},
		{"v4-mapped uses protocol 1", netip.MustParseAddrPort("[::ffff:10.0.0.1]:21"), "|1|10.0.0.1|21|"},
		{"IPv6 uses protocol 2", netip.MustParseAddrPort("[2001:db8::1]:6446"), "|2|2001:db8::1|6446|"},
		{"a zone is dropped", netip.MustParseAddrPort("[fe80::1%eth0]:6446"), "|2|fe80::1|6446|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatEPRT(tt.ap); got != tt.want {
				t.Errorf("FormatEPRT(%v) = %q, want %q", tt.ap, got, tt.want)
			}
		})
	}
}

func TestEPSVReply(t *testing.T) {
	t.Run("the reply text has the RFC 2428 form", func(t *testing.T) {
		if got := FormatEPSVReply(6446); got != "Entering Extended Passive Mode (|||6446|)" {
			t.Errorf("FormatEPSVReply = %q", got)
		}
	})
	tests := []struct {
		name string
		msg  string
		want uint16
	}{
		{"the usual form is parsed", "Entering Extended Passive Mode (|||6446|)", 6446},
		{"another delimiter is accepted", "Entering Extended Passive Mode (!!!21!)", 21},
		{"a reply starting with its code is parsed", "229 EPSV ok (|||65535|).", 65535},
		{"an earlier bad group is skipped", "(|||0|) (|||7|)", 7},
		{"mixed delimiters are an error", "(|!|6446|)", 0},
		{"a missing closing parenthesis is an error", "(|||6446|", 0},
		{"an address in the group is an error", "(|1|10.0.0.1|6446|)", 0},
		{"port zero is an error", "(|||0|)", 0},
		{"a port above 65535 is an error", "(|||65536|)", 0},
		{"a six-digit port is an error", "(|||000021|)", 0},
		{"no parentheses is an error", "|||6446|", 0},
		{"an empty message is an error", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPSVReply(tt.msg)
			if tt.want == 0 {
				if !errors.Is(err, ErrBadReply) {
					t.Fatalf("ParseEPSVReply(%q) = %d, %v; want ErrBadReply", tt.msg, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseEPSVReply(%q) = %d, %v; want %d", tt.msg, got, err, tt.want)
			}
		})
	}
}
