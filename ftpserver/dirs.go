package ftpserver

import (
	"context"
	"path"
	"strings"

	"github.com/ferryftp/ferry/ftp"
)

func (s *session) cmdPWD(string) error {
	s.reply(ftp.CodePathCreated, quotePath(s.cwd)+" is the current directory.")
	return nil
}

func (s *session) cmdCWD(arg string) error { return s.chdir(arg) }

func (s *session) cmdCDUP(string) error { return s.chdir("..") }

func (s *session) chdir(arg string) error {
	vp, _, fi, err := s.statArg(arg, PermList)
	switch {
	case err != nil:
		return err
	case !fi.IsDir():
		return ftpErr(ftp.CodeFileUnavailable, "Not a directory.")
	}
	s.setCwd(vp)
	s.reply(ftp.CodeFileActionOK, "Directory changed to "+vp+".")
	return nil
}

// cmdSMNT answers 202: each user has exactly one file system here, so there
// is nothing to mount (RFC 959 lists 202 among SMNT's replies).
func (s *session) cmdSMNT(string) error {
	s.reply(ftp.CodeSuperfluous, "SMNT not needed: one file system per user.")
	return nil
}

func (s *session) cmdMKD(arg string) error {
	vp, _, err := s.onPath(arg, PermMkdir, s.ident.FS.Mkdir)
	if err != nil {
		return err
	}
	s.observeFileOp("MKD", vp, "")
	s.log.Info("created directory", "path", vp)
	s.reply(ftp.CodePathCreated, quotePath(vp)+" created.")
	return nil
}

func (s *session) cmdRMD(arg string) error {
	vp, _, err := s.onPath(arg, PermDelete, s.removeDir)
	if err != nil {
		return err
	}
	if s.cwd == vp || strings.HasPrefix(s.cwd, vp+"/") {
		s.setCwd(path.Dir(vp))
	}
	s.observeFileOp("RMD", vp, "")
	s.log.Info("removed directory", "path", vp)
	s.reply(ftp.CodeFileActionOK, "Directory removed.")
	return nil
}

// removeDir removes a directory other than the root.
func (s *session) removeDir(ctx context.Context, name string) error {
	if name == fsName("/") {
		return ftpErr(ftp.CodeFileUnavailable, "Cannot remove the root directory.")
	}
	return s.ident.FS.RemoveDir(ctx, name)
}
