package ftpserver

import (
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *session) cmdNOOP(string) bool {
	s.reply(ftp.CodeOK, "NOOP ok.")
	return true
}

func (s *session) cmdSYST(string) bool {
	s.reply(ftp.CodeSystemType, "UNIX Type: L8")
	return true
}

func (s *session) cmdFEAT(string) bool {
	lines := []string{"Features:",
		"EPRT", "EPSV", "MDTM", "MFMT", "PASV", "REST STREAM", "SIZE", "TVFS", "UTF8",
		ftp.FeatMLST(s.mlstFacts),
		featHash(s.hashAlgo)}
	if s.opts.TLS != nil {
		lines = append(lines, "AUTH TLS", "PBSZ", "PROT")
		if s.opts.AllowCCC {
			lines = append(lines, "CCC")
		}
	}
	lines = append(lines, "End")
	s.reply(ftp.CodeSystemStatus, joinLines(lines...))
	return true
}

// cmdOPTS handles OPTS UTF8, OPTS MLST and OPTS HASH (RFC 2389, 2640, 3659).
func (s *session) cmdOPTS(arg string) bool {
	verb, opt, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(verb) {
	case "UTF8", "UTF-8":
		switch strings.ToUpper(strings.TrimSpace(opt)) {
		case "ON", "":
			s.reply(ftp.CodeOK, "UTF8 mode always on.")
		case "OFF":
			s.reply(ftp.CodeParamNotImplemented, "UTF8 cannot be turned off; paths are UTF-8.")
		default:
			s.reply(ftp.CodeArgSyntax, "OPTS UTF8 takes ON or OFF.")
		}
	case "MLST":
		s.mlstFacts = ftp.ParseFactList(opt)
		s.reply(ftp.CodeOK, "MLST OPTS "+s.mlstFacts.Names())
	case "HASH":
		if opt == "" {
			s.reply(ftp.CodeOK, s.hashAlgo)
			return true
		}
		algo, ok := hashAlgo(opt)
		if !ok {
			s.reply(ftp.CodeArgSyntax, "Unknown algorithm; FEAT lists the supported ones.")
			return true
		}
		s.hashAlgo = algo
		s.hashWanted = true
		s.reply(ftp.CodeOK, algo)
	default:
		s.reply(ftp.CodeArgSyntax, "OPTS not understood for "+verb+".")
	}
	return true
}

func (s *session) cmdHELP(arg string) bool {
	if arg != "" {
		verb := strings.ToUpper(strings.TrimSpace(arg))
		if verb == "SITE" {
			s.reply(ftp.CodeHelp, "SITE HELP, SITE CHMOD <mode> <path>")
			return true
		}
		spec, ok := commands[verb]
		if !ok {
			s.reply(ftp.CodeArgSyntax, "Unknown command "+verb+".")
			return true
		}
		s.reply(ftp.CodeHelp, "Syntax: "+spec.help)
		return true
	}
	verbs := make([]string, 0, len(commands))
	for v := range commands {
		verbs = append(verbs, v)
	}
	sort.Strings(verbs)
	lines := []string{"The following commands are recognized:"}
	for i := 0; i < len(verbs); i += 8 {
		lines = append(lines, strings.Join(verbs[i:min(i+8, len(verbs))], " "))
	}
	s.reply(ftp.CodeHelp, joinLines(append(lines, "Help OK.")...))
	return true
}

func (s *session) cmdTYPE(arg string) bool {
	f := strings.Fields(strings.ToUpper(arg))
	switch {
	case len(f) == 1 && f[0] == "I", len(f) == 2 && f[0] == "L" && f[1] == "8", len(f) == 1 && f[0] == "L8":
		s.binary = true
		s.reply(ftp.CodeOK, "Switching to Binary mode.")
	case len(f) == 1 && f[0] == "A", len(f) == 2 && f[0] == "A" && f[1] == "N":
		s.binary = false
		s.reply(ftp.CodeOK, "Switching to ASCII mode.")
	case len(f) >= 1 && (f[0] == "A" || f[0] == "E" || f[0] == "L"):
		s.reply(ftp.CodeParamNotImplemented, "Only TYPE A, A N, I and L 8 are supported.")
	default:
		s.reply(ftp.CodeArgSyntax, "Unrecognised TYPE.")
	}
	return true
}

func (s *session) cmdSTRU(arg string) bool {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "F":
		s.reply(ftp.CodeOK, "Structure set to File.")
	case "R", "P":
		s.reply(ftp.CodeParamNotImplemented, "Only STRU F is supported.")
	default:
		s.reply(ftp.CodeArgSyntax, "Unrecognised STRU.")
	}
	return true
}

func (s *session) cmdMODE(arg string) bool {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "S":
		s.reply(ftp.CodeOK, "Mode set to Stream.")
	case "B", "C", "Z":
		s.reply(ftp.CodeParamNotImplemented, "Only MODE S is supported.")
	default:
		s.reply(ftp.CodeArgSyntax, "Unrecognised MODE.")
	}
	return true
}

// cmdSITE handles SITE HELP and SITE CHMOD.
func (s *session) cmdSITE(arg string) bool {
	sub, rest, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(sub) {
	case "HELP":
		s.reply(ftp.CodeHelp, joinLines("SITE commands:", "CHMOD <octal mode> <path>", "HELP", "End"))
	case "CHMOD":
		modeStr, p, ok := strings.Cut(strings.TrimLeft(rest, " "), " ")
		mode, err := strconv.ParseUint(modeStr, 8, 32)
		if !ok || p == "" || err != nil || mode > 0o777 {
			s.reply(ftp.CodeArgSyntax, "Usage: SITE CHMOD <octal mode 0-777> <path>.")
			return true
		}
		if !s.need(PermWrite) {
			return true
		}
		ch, ok := s.ident.FS.(storage.Chmoder)
		if !ok {
			s.reply(ftp.CodeNotImplemented, "SITE CHMOD is not supported by this storage.")
			return true
		}
		_, name, ok := s.target(p)
		if !ok {
			return true
		}
		if err := ch.Chmod(s.ctx, name, fs.FileMode(mode)); err != nil {
			s.replyErr(err)
			return true
		}
		s.reply(ftp.CodeOK, "SITE CHMOD command successful.")
	default:
		s.reply(ftp.CodeNotImplemented, "SITE "+strings.ToUpper(sub)+" not implemented; try SITE HELP.")
	}
	return true
}
