package ftpserver

import (
	"path"

	"github.com/ferryftp/ferry/ftp"
)

func (s *session) cmdPWD(string) error {
	s.reply(ftp.CodePathCreated, quotePath(s.cwd)+" is the current directory.")
	return nil
}

func (s *session) cmdCWD(arg string) error {
	s.chdir(arg)
	return nil
}

func (s *session) cmdCDUP(string) error {
	s.chdir("..")
	return nil
}

func (s *session) chdir(arg string) {
	vp, _, fi, ok := s.statArg(arg, PermList)
	if !ok {
		return
	}
	if !fi.IsDir() {
		s.reply(ftp.CodeFileUnavailable, "Not a directory.")
		return
	}
	s.cwd = vp
	s.reply(ftp.CodeFileActionOK, "Directory changed to "+vp+".")
}

// cmdSMNT answers 202: each user has exactly one file system here, so there
// is nothing to mount (RFC 959 lists 202 among SMNT's replies).
func (s *session) cmdSMNT(string) error {
	s.reply(ftp.CodeSuperfluous, "SMNT not needed: one file system per user.")
	return nil
}

func (s *session) cmdMKD(arg string) error {
	if !s.need(PermMkdir) {
		return nil
	}
	vp, name, ok := s.target(arg)
	if !ok {
		return nil
	}
	if err := s.ident.FS.Mkdir(s.ctx, name); err != nil {
		s.replyErr(err)
		return nil
	}
	s.log.Info("created directory", "path", vp)
	s.reply(ftp.CodePathCreated, quotePath(vp)+" created.")
	return nil
}

func (s *session) cmdRMD(arg string) error {
	if !s.need(PermDelete) {
		return nil
	}
	vp, name, ok := s.target(arg)
	if !ok {
		return nil
	}
	if vp == "/" {
		s.reply(ftp.CodeFileUnavailable, "Cannot remove the root directory.")
		return nil
	}
	if err := s.ident.FS.RemoveDir(s.ctx, name); err != nil {
		s.replyErr(err)
		return nil
	}
	if s.cwd == vp || len(s.cwd) > len(vp) && s.cwd[:len(vp)+1] == vp+"/" {
		s.cwd = path.Dir(vp)
	}
	s.log.Info("removed directory", "path", vp)
	s.reply(ftp.CodeFileActionOK, "Directory removed.")
	return nil
}
