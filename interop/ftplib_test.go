package interop

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ftplibScript is run by python3 -c with the arguments host, port, user,
// password, "passive" or "active", a JSON list of sample names, the local
// directory holding the samples and the part to run: "session" (transfers
// and file commands) or "abort" (ABOR of a big download). It prints a JSON
// report.
const ftplibScript = `
import ftplib, hashlib, json, os, sys
host, port, user, pw, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
names, local, part = json.loads(sys.argv[6]), sys.argv[7], sys.argv[8]
out = {}
ftp = ftplib.FTP(timeout=20)
ftp.connect(host, port)
ftp.login(user, pw)
ftp.set_pasv(mode == 'passive')
out['pwd'] = ftp.pwd()
ftp.voidcmd('TYPE I')
if part == 'abort':
    # Abort a big download midway: ftplib sends ABOR as TCP urgent data.
    conn = ftp.transfercmd('RETR big.bin')
    got = 0
    while got < 1 << 20:
        b = conn.recv(65536)
        if not b:
            break
        got += len(b)
    out['abort_read'] = got
    resp = ftp.abort()
    conn.close()
    out['abort'] = [resp]
    if resp.startswith('426'):
        # RFC 959: 426 for the aborted transfer, then 226 for ABOR itself.
        out['abort'].append(ftp.getline())
    out['pwd_after_abort'] = ftp.pwd()
    out['quit'] = ftp.quit()
    print(json.dumps(out))
    sys.exit(0)
out['retr'] = {}
for n in names:
    h = hashlib.sha256()
    ftp.retrbinary('RETR ' + n, h.update)
    out['retr'][n] = h.hexdigest()
out['mkd'] = ftp.mkd('up')
for n in names:
    with open(os.path.join(local, n), 'rb') as f:
        ftp.storbinary('STOR up/' + n, f)
out['mlsd'] = {n: {'type': f.get('type'), 'size': f.get('size')} for n, f in ftp.mlsd('up')}
out['nlst'] = ftp.nlst('up')
out['size'] = ftp.size('up/binary.bin')
ftp.rename('up/empty.dat', 'up/renamed.dat')
ftp.delete('up/renamed.dat')
ftp.mkd('gone')
ftp.rmd('gone')
out['nlst_after'] = ftp.nlst('up')
out['quit'] = ftp.quit()
print(json.dumps(out))
`

// ftplibReport is what ftplibScript prints.
type ftplibReport struct {
	PWD  string            `json:"pwd"`
	Retr map[string]string `json:"retr"`
	MLSD map[string]struct {
		Type string `json:"type"`
		Size string `json:"size"`
	} `json:"mlsd"`
	NLST          []string `json:"nlst"`
	Size          int      `json:"size"`
	NLSTAfter     []string `json:"nlst_after"`
	AbortRead     int      `json:"abort_read"`
	Abort         []string `json:"abort"`
	PWDAfterAbort string   `json:"pwd_after_abort"`
	Quit          string   `json:"quit"`
}

// TestPythonFtplib runs Python's ftplib through a session of downloads,
// uploads, MLSD, NLST, SIZE, rename, delete and MKD/RMD, and through an
// abort() of a big download followed by pwd(), in passive and active mode
// over IPv4 and IPv6.
func TestPythonFtplib(t *testing.T) {
	python := needPython(t)
	big := bytes.Repeat(sampleData(1<<20, 9), 48)
	names, _ := json.Marshal(sampleNames())
	cases := []struct {
		name string
		fam  family
		mode string
	}{
		{"in passive mode over IPv4", ipv4, "passive"},
		{"in active mode over IPv4", ipv4, "active"},
		{"in passive mode over IPv6", ipv6, "passive"},
		{"in active mode over IPv6", ipv6, "active"},
	}
	for _, c := range cases {
		t.Run("runs a session of transfers and file commands "+c.name, func(t *testing.T) {
			t.Parallel()
			c.fam.need(t)
			s := startServer(t, c.fam.listen)
			writeSamples(t, s.Root)
			local := t.TempDir()
			writeSamples(t, local)

			rep := runFtplib(t, python, s, c.mode, string(names), local, "session")
			if rep.PWD != "/" {
				t.Errorf("pwd() = %q, want /", rep.PWD)
			}
			for _, smp := range samples {
				if got, want := rep.Retr[smp.name], digest(smp.data); got != want {
					t.Errorf("retrbinary(%q) sha256 %.16s…, want %.16s…", smp.name, got, want)
				}
				m, ok := rep.MLSD[smp.name]
				if !ok || m.Type != "file" || m.Size != itoa(len(smp.data)) {
					t.Errorf("mlsd() entry for %q = %+v (present %v), want type=file size=%d", smp.name, m, ok, len(smp.data))
				}
			}
			if got := baseNames(rep.NLST); !slices.Equal(got, sampleNames()) {
				t.Errorf("nlst('up') = %q, want %q", got, sampleNames())
			}
			if rep.Size != len(samples[0].data) {
				t.Errorf("size() = %d, want %d", rep.Size, len(samples[0].data))
			}
			wantAfter := slices.DeleteFunc(sampleNames(), func(n string) bool { return n == "empty.dat" })
			if got := baseNames(rep.NLSTAfter); !slices.Equal(got, wantAfter) {
				t.Errorf("nlst('up') after rename and delete = %q, want %q", got, wantAfter)
			}
			for _, smp := range samples {
				if smp.name != "empty.dat" {
					checkFile(t, filepath.Join(s.Root, "up", smp.name), smp.data)
				}
			}
			for _, gone := range []string{"up/empty.dat", "up/renamed.dat", "gone"} {
				if _, err := os.Stat(filepath.Join(s.Root, gone)); !os.IsNotExist(err) {
					t.Errorf("%s still exists on disk (err %v)", gone, err)
				}
			}
			if !strings.HasPrefix(rep.Quit, "221") {
				t.Errorf("quit() = %q, want 221", rep.Quit)
			}
		})

		t.Run("aborts a big download and goes on "+c.name, func(t *testing.T) {
			t.Parallel()
			c.fam.need(t)
			s := startServer(t, c.fam.listen)
			writeFile(t, filepath.Join(s.Root, "big.bin"), big)
			rep := runFtplib(t, python, s, c.mode, string(names), t.TempDir(), "abort")
			if len(rep.Abort) == 0 || len(rep.Abort[0]) < 3 || !slices.Contains([]string{"426", "225", "226"}, rep.Abort[0][:3]) {
				t.Errorf("abort() replies %q, want 426 then 226 (or 225/226)", rep.Abort)
			}
			if len(rep.Abort) == 2 && !strings.HasPrefix(rep.Abort[1], "226") {
				t.Errorf("the reply after 426 is %q, want 226", rep.Abort[1])
			}
			if rep.AbortRead >= len(big) {
				t.Errorf("the download finished (%d bytes) before abort()", rep.AbortRead)
			}
			if rep.PWDAfterAbort != "/" {
				t.Errorf("pwd() after abort() = %q, want /", rep.PWDAfterAbort)
			}
			if !strings.HasPrefix(rep.Quit, "221") {
				t.Errorf("quit() = %q, want 221", rep.Quit)
			}
		})
	}
}

// runFtplib runs one part of ftplibScript against s and decodes its report.
func runFtplib(t *testing.T, python string, s *server, mode, names, local, part string) ftplibReport {
	t.Helper()
	r := mustRun(t, local, "", python, "-c", ftplibScript, s.Host, s.Port, testUser, testPass, mode, names, local, part)
	var rep ftplibReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("ftplib report: %v\n%s", err, r.stdout)
	}
	return rep
}

// baseNames returns the last elements of NLST names, sorted: servers may
// answer NLST dir with "dir/name" or with "name".
func baseNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = path.Base(n)
	}
	sort.Strings(out)
	return out
}
