package ftpserver

import (
	"strconv"
	"strings"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/storage/quota"
)

// quotaReporter returns the session's quota, if its file system enforces one
// (see package storage/quota).
func (s *session) quotaReporter() (quota.Reporter, bool) {
	if s.ident == nil || s.ident.FS == nil {
		return nil, false
	}
	r, ok := s.ident.FS.(quota.Reporter)
	return r, ok
}

// quotaLines is STAT's line about the quota, if there is one.
func (s *session) quotaLines() []string {
	if r, ok := s.quotaReporter(); ok {
		return []string{r.QuotaStatus().String()}
	}
	return nil
}

// cmdALLO checks the declared size ("ALLO <bytes> [R <record size>]",
// RFC 959 4.1.3) against the quota, so that an upload that cannot fit is
// refused (552) before any byte is sent. Without a quota ALLO is not
// needed (202).
func (s *session) cmdALLO(arg string) error {
	f := strings.Fields(arg)
	if len(f) == 0 {
		return ftpErr(ftp.CodeArgSyntax, "Usage: ALLO <bytes> [R <record size>].")
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 || (len(f) != 1 && (len(f) != 3 || !strings.EqualFold(f[1], "R"))) {
		return ftpErr(ftp.CodeArgSyntax, "Usage: ALLO <bytes> [R <record size>].")
	}
	r, ok := s.quotaReporter()
	if !ok {
		s.reply(ftp.CodeSuperfluous, "ALLO not needed at this site.")
		return nil
	}
	if err := r.CheckAllocate(n); err != nil {
		return err
	}
	s.reply(ftp.CodeOK, "ALLO command successful: "+strconv.FormatInt(n, 10)+" bytes fit in the quota.")
	return nil
}

// siteQuota answers SITE QUOTA with the user's usage and limits.
func (s *session) siteQuota() error {
	r, ok := s.quotaReporter()
	if !ok {
		s.reply(ftp.CodeOK, "No quota applies to this account.")
		return nil
	}
	st := r.QuotaStatus()
	lim := func(n int64) string {
		if n <= 0 {
			return "unlimited"
		}
		return strconv.FormatInt(n, 10)
	}
	s.reply(ftp.CodeOK, joinLines("Quota for "+s.ident.User+":",
		"Bytes used: "+strconv.FormatInt(st.Used.Bytes, 10)+", limit: "+lim(st.MaxBytes),
		"Files used: "+strconv.FormatInt(st.Used.Files, 10)+", limit: "+lim(st.MaxFiles),
		"Uploads running: "+strconv.FormatInt(st.Reserved.Bytes, 10)+" bytes reserved",
		"End"))
	return nil
}
