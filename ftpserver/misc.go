package ftpserver

import (
	"context"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *session) cmdNOOP(string) error {
	s.reply(ftp.CodeOK, "NOOP ok.")
	return nil
}

func (s *session) cmdSYST(string) error {
	s.reply(ftp.CodeSystemType, "UNIX Type: L8")
	return nil
}

func (s *session) cmdFEAT(string) error {
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
	return nil
}

// cmdOPTS handles OPTS UTF8, OPTS MLST and OPTS HASH (RFC 2389, 2640, 3659).
func (s *session) cmdOPTS(arg string) error {
	verb, opt, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(verb) {
	case "UTF8", "UTF-8":
		switch strings.ToUpper(strings.TrimSpace(opt)) {
		case "ON", "":
			s.reply(ftp.CodeOK, "UTF8 mode always on.")
		case "OFF":
			return ftpErr(ftp.CodeParamNotImplemented, "UTF8 cannot be turned off; paths are UTF-8.")
		default:
			return ftpErr(ftp.CodeArgSyntax, "OPTS UTF8 takes ON or OFF.")
		}
	case "MLST":
		s.mlstFacts = ftp.ParseFactList(opt)
		s.reply(ftp.CodeOK, "MLST OPTS "+s.mlstFacts.Names())
	case "HASH":
		if opt == "" {
			s.reply(ftp.CodeOK, s.hashAlgo)
			return nil
		}
		algo, ok := hashAlgo(opt)
		if !ok {
			return ftpErr(ftp.CodeArgSyntax, "Unknown algorithm; FEAT lists the supported ones.")
		}
		s.hashAlgo = algo
		s.hashWanted = true
		s.reply(ftp.CodeOK, algo)
	default:
		return ftpErr(ftp.CodeArgSyntax, "OPTS not understood for "+verb+".")
	}
	return nil
}

func (s *session) cmdHELP(arg string) error {
	if arg != "" {
		verb := strings.ToUpper(strings.TrimSpace(arg))
		if verb == "SITE" {
			s.reply(ftp.CodeHelp, "SITE HELP, SITE CHMOD <mode> <path>, SITE QUOTA")
			return nil
		}
		spec, ok := commands[verb]
		if !ok {
			return ftpErr(ftp.CodeArgSyntax, "Unknown command "+verb+".")
		}
		s.reply(ftp.CodeHelp, "Syntax: "+spec.help)
		return nil
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
	return nil
}

func (s *session) cmdTYPE(arg string) error {
	f := strings.Fields(strings.ToUpper(arg))
	switch {
	case len(f) == 1 && f[0] == "I", len(f) == 2 && f[0] == "L" && f[1] == "8", len(f) == 1 && f[0] == "L8":
		s.binary = true
		s.reply(ftp.CodeOK, "Switching to Binary mode.")
	case len(f) == 1 && f[0] == "A", len(f) == 2 && f[0] == "A" && f[1] == "N":
		s.binary = false
		s.reply(ftp.CodeOK, "Switching to ASCII mode.")
	case len(f) >= 1 && (f[0] == "A" || f[0] == "E" || f[0] == "L"):
		return ftpErr(ftp.CodeParamNotImplemented, "Only TYPE A, A N, I and L 8 are supported.")
	default:
		return ftpErr(ftp.CodeArgSyntax, "Unrecognised TYPE.")
	}
	return nil
}

func (s *session) cmdSTRU(arg string) error {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "F":
		s.reply(ftp.CodeOK, "Structure set to File.")
	case "R", "P":
		return ftpErr(ftp.CodeParamNotImplemented, "Only STRU F is supported.")
	default:
		return ftpErr(ftp.CodeArgSyntax, "Unrecognised STRU.")
	}
	return nil
}

func (s *session) cmdMODE(arg string) error {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "S":
		s.reply(ftp.CodeOK, "Mode set to Stream.")
	case "B", "C", "Z":
		return ftpErr(ftp.CodeParamNotImplemented, "Only MODE S is supported.")
	default:
		return ftpErr(ftp.CodeArgSyntax, "Unrecognised MODE.")
	}
	return nil
}

// cmdSITE handles SITE HELP, SITE CHMOD and SITE QUOTA.
func (s *session) cmdSITE(arg string) error {
	sub, rest, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(sub) {
	case "HELP":
		s.reply(ftp.CodeHelp, joinLines("SITE commands:", "CHMOD <octal mode> <path>", "HELP", "QUOTA", "End"))
	case "CHMOD":
		modeStr, p, ok := strings.Cut(strings.TrimLeft(rest, " "), " ")
		mode, err := strconv.ParseUint(modeStr, 8, 32)
		if !ok || p == "" || err != nil || mode > 0o777 {
			return ftpErr(ftp.CodeArgSyntax, "Usage: SITE CHMOD <octal mode 0-777> <path>.")
		}
		if err := s.need(PermWrite); err != nil {
			return err
		}
		ch, ok := s.ident.FS.(storage.Chmoder)
		if !ok {
			return ftpErr(ftp.CodeNotImplemented, "SITE CHMOD is not supported by this storage.")
		}
		chmod := func(ctx context.Context, name string) error { return ch.Chmod(ctx, name, fs.FileMode(mode)) }
		if _, _, err := s.onPath(p, PermWrite, chmod); err != nil {
			return err
		}
		s.reply(ftp.CodeOK, "SITE CHMOD command successful.")
	case "QUOTA":
		return s.siteQuota()
	default:
		return ftpErr(ftp.CodeNotImplemented, "SITE "+strings.ToUpper(sub)+" not implemented; try SITE HELP.")
	}
	return nil
}
