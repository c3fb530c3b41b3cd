package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// The manual page is made from the same text --help prints: manPage runs
// each command with --help and turns what it printed (usage prose, then
// printFlags' list) into roff, so the page and --help cannot drift apart.
// docs/man/ferry.1 is its output (`go run ./cmd/ferry man > docs/man/ferry.1`),
// and TestManPageUpToDate checks it.

// manDate is the date in the page's .TH line: change it when the page's
// content changes in a way a reader should notice.
const manDate = "2026-12-03"

// manCommands are the command lines whose --help the page documents, in
// the page's order.
var manCommands = [][]string{
	{"serve"}, {"passwd"},
	{"user"}, {"user", "add"}, {"user", "set"}, {"user", "del"}, {"user", "list"}, {"user", "passwd"},
	{"admin"},
	{"ls"}, {"get"}, {"put"}, {"mirror"}, {"rm"}, {"mkdir"}, {"mv"}, {"quote"},
	{"diagnose"}, {"proxy"}, {"firewall"},
}

const manDescription = `.B ferry
is an FTP server
.RB ( "ferry serve" ),
an FTP client
.RB ( "ferry ls" ,
.BR get ,
.BR put ,
.BR mirror ,
.BR rm ,
.BR mkdir ,
.BR mv ,
.BR quote ,
.BR diagnose )
and an FTP proxy or application\-level gateway
.RB ( "ferry proxy" )
in one binary.
.PP
Flags are written
.B \-\-name
(one dash for one\-letter flags such as
.BR \-c )
and may come before or after the other arguments.
Each command prints the text of its section below with
.BR \-\-help .
`

const manTail = `.SH EXIT STATUS
0 on success, 1 when the command failed, 2 for a mistake in the command
line.
The client commands have more codes, listed under
.B ferry ls
above.
.SH SIGNALS
.B ferry serve
and
.B ferry proxy
stop gracefully on SIGTERM or SIGINT (running transfers may finish; a
second signal closes every session).
.B ferry serve
reloads its configuration file on SIGHUP without dropping sessions.
.SH ENVIRONMENT
.TP
.B FERRY_DB
the user database of
.B ferry user
when
.B \-\-db
is not given.
.TP
.B FERRY_PASSWORD
the password of the client commands when the URL has none.
.SH SEE ALSO
The documentation in the source tree's docs/ folder: configuration.md,
server.md, client.md, proxy.md, users.md, firewall.md, diagnose.md,
security.md and operations.md.
`

// manMain runs "ferry man": it prints the manual page in roff.
func manMain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ferry man", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ferry man > ferry.1\n\nPrints the manual page of ferry (roff, for man -l ferry.1).\n")
	}
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	// The user commands' --db default reads $FERRY_DB: the page shows the
	// built-in default.
	os.Unsetenv("FERRY_DB")
	page, err := manPage()
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, page)
	return err
}

// helpCapture collects what a command prints for --help; printFlags tells
// it where the flag list starts.
type helpCapture struct {
	bytes.Buffer
	flagsAt int // offset of the flag list; -1 when the command has none
}

func (c *helpCapture) flagsFollow() { c.flagsAt = c.Len() }

// commandHelp returns the usage prose and the flag list (as printFlags
// writes it, possibly empty) that "ferry ARGS --help" prints.
func commandHelp(args []string) (prose, flags string, err error) {
	c := &helpCapture{flagsAt: -1}
	if code := run(append(append([]string{}, args...), "--help"), strings.NewReader(""), c, c); code != 0 {
		return "", "", fmt.Errorf("ferry %s --help exited %d: %s", strings.Join(args, " "), code, c.String())
	}
	out := c.String()
	if c.flagsAt < 0 {
		return out, "", nil
	}
	prose = strings.TrimSuffix(strings.TrimRight(out[:c.flagsAt], "\n"), "Flags:")
	return prose, out[c.flagsAt:], nil
}

// manPage renders the whole page.
func manPage() (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH FERRY 1 %s \"ferry\" \"User Commands\"\n", manDate)
	b.WriteString(".SH NAME\nferry \\- FTP server, client and proxy\n.SH SYNOPSIS\n")
	_, synopsis, ok := strings.Cut(usage, "Usage:\n")
	if !ok {
		return "", fmt.Errorf("the usage text has no Usage: line")
	}
	writeVerbatim(&b, synopsis)
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(manDescription)
	b.WriteString(".SH COMMANDS\n")
	var lastProse, lastCmd string
	for _, args := range manCommands {
		prose, flags, err := commandHelp(args)
		if err != nil {
			return "", err
		}
		name := "ferry " + strings.Join(args, " ")
		fmt.Fprintf(&b, ".SS \"%s\"\n", roffEscape(name))
		prose = strings.Trim(prose, "\n")
		if prose == lastProse {
			fmt.Fprintf(&b, "Usage as for\n.B %s\nabove.\n", roffEscape(lastCmd))
		} else {
			writeVerbatim(&b, prose)
			lastProse, lastCmd = prose, name
		}
		if err := writeFlags(&b, flags); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	b.WriteString(manTail)
	return b.String(), nil
}

// writeVerbatim writes text as a no-fill block, so the layout of the help
// text (aligned columns, examples) is kept.
func writeVerbatim(b *strings.Builder, text string) {
	b.WriteString(".nf\n")
	for _, line := range strings.Split(strings.Trim(text, "\n"), "\n") {
		b.WriteString(roffLine(line))
		b.WriteByte('\n')
	}
	b.WriteString(".fi\n")
}

// writeFlags turns printFlags' list ("  --name arg" then "    \tusage"
// lines) into .TP paragraphs.
func writeFlags(b *strings.Builder, list string) error {
	if list == "" {
		return nil
	}
	b.WriteString(".PP\nFlags:\n")
	for _, line := range strings.Split(strings.TrimRight(list, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "    \t"):
			b.WriteString(roffLine(strings.TrimPrefix(line, "    \t")))
			b.WriteByte('\n')
		case strings.HasPrefix(line, "  -"):
			name, arg, _ := strings.Cut(strings.TrimPrefix(line, "  "), " ")
			b.WriteString(".TP\n\\fB" + roffEscape(name) + "\\fR")
			if arg != "" {
				b.WriteString(" \\fI" + roffEscape(arg) + "\\fR")
			}
			b.WriteByte('\n')
		default:
			return fmt.Errorf("unexpected line in the flag list: %q", line)
		}
	}
	return nil
}

// roffLine escapes one input line, also when it starts with a control
// character or is empty (an empty line in roff is a paragraph break).
func roffLine(s string) string {
	s = roffEscape(s)
	if s == "" || s[0] == '.' || s[0] == '\'' {
		return "\\&" + s
	}
	return s
}

// roffEscape escapes backslashes, minus signs (so "--flag" stays ASCII
// when rendered and can be copied) and non-ASCII characters.
func roffEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
