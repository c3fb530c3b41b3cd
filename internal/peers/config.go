package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func writeLines(name string, lines []string) error {
	return os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// vsftpdConfig writes vsftpd.conf and returns the command-line arguments.
func vsftpdConfig(work, host string, port int, pasv [2]int, root string, opts Options) ([]string, error) {
	empty := filepath.Join(work, "empty")
	if err := os.Mkdir(empty, 0o555); err != nil {
		return nil, err
	}
	lines := []string{
		"background=NO",
		"listen_port=" + strconv.Itoa(port),
		"anonymous_enable=NO",
		"local_enable=YES",
		"write_enable=YES",
		"local_umask=022",
		"local_root=" + root,
		"chroot_local_user=YES",
		"allow_writeable_chroot=YES",
		"pam_service_name=ferry-peer-vsftpd", // absent: PAM falls back to "other" (pam_unix)
		"userlist_enable=NO",
		"tcp_wrappers=NO",
		"secure_chroot_dir=" + empty,
		"seccomp_sandbox=NO",
		"isolate=NO",
		"isolate_network=NO",
		"xferlog_enable=NO",
		"vsftpd_log_file=/dev/null",
		"dual_log_enable=NO",
		"syslog_enable=NO",
		"connect_from_port_20=NO",
		"pasv_enable=YES",
		"port_enable=YES",
		fmt.Sprintf("pasv_min_port=%d", pasv[0]),
		fmt.Sprintf("pasv_max_port=%d", pasv[1]),
		"max_per_ip=0",
		"max_clients=0",
		"delay_failed_login=0",
		"use_localtime=NO",
		"hide_ids=NO",
		"ls_recurse_enable=NO",
	}
	if host == "::1" {
		lines = append(lines, "listen=NO", "listen_ipv6=YES", "listen_address6=::1")
	} else {
		lines = append(lines, "listen=YES", "listen_ipv6=NO", "listen_address="+host)
	}
	if opts.CertFile != "" {
		reuse := "YES"
		if opts.NoSSLReuse {
			reuse = "NO"
		}
		lines = append(lines,
			"ssl_enable=YES",
			"rsa_cert_file="+opts.CertFile,
			"rsa_private_key_file="+opts.KeyFile,
			"require_ssl_reuse="+reuse,
			"force_local_logins_ssl=YES",
			"force_local_data_ssl=YES",
			"ssl_tlsv1=YES",
			"ssl_sslv2=NO",
			"ssl_sslv3=NO",
			"ssl_ciphers=HIGH",
		)
		if opts.ImplicitTLS {
			lines = append(lines, "implicit_ssl=YES")
		}
	}
	lines = append(lines, opts.Extra...)
	conf := filepath.Join(work, "vsftpd.conf")
	if err := writeLines(conf, lines); err != nil {
		return nil, err
	}
	return []string{conf}, nil
}

// pureConfig creates a puredb with one virtual user and returns pure-ftpd's arguments.
func pureConfig(cache, work, host string, port int, pasv [2]int, root string, uid, gid int, opts Options) ([]string, error) {
	passwd := filepath.Join(work, "pureftpd.passwd")
	pdb := filepath.Join(work, "pureftpd.pdb")
	// pure-pw hashes with argon2id at a cost that makes every login take
	// seconds; reuse the system account's crypt(3) hash from /etc/shadow.
	hash, err := shadowHash(UserName)
	if err != nil {
		return nil, err
	}
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./::::::::::::\n", UserName, hash, uid, gid, root)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(cache, "usr/bin/pure-pw"), "mkdb", pdb, "-f", passwd)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+libPath(cache))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pure-pw mkdb: %v\n%s", err, out)
	}
	args := []string{
		"--bind", host + "," + strconv.Itoa(port),
		"--login", "puredb:" + pdb,
		"--passiveportrange", fmt.Sprintf("%d:%d", pasv[0], pasv[1]),
		"--dontresolve",
		"--noanonymous",
		"--chrooteveryone",
		"--syslogfacility", "none",
		"--maxclientsperip", "200",
		"--maxclientsnumber", "200",
		"--minuid", "1",
	}
	if opts.CertFile != "" {
		mode := "1"
		if opts.RequireTLS {
			mode = "2"
		}
		args = append(args, "--tls", mode, "--certfile", opts.CertFile+","+opts.KeyFile)
	}
	return append(args, opts.Extra...), nil
}

// proftpdConfig writes proftpd.conf and returns proftpd's arguments.
func proftpdConfig(work, host string, port int, pasv [2]int, root string, opts Options) ([]string, error) {
	lines := []string{
		`ServerName "ferry peer proftpd"`,
		"ServerType standalone",
		"DefaultServer on",
		"Port " + strconv.Itoa(port),
		"DefaultAddress " + host,
		"SocketBindTight on",
		"UseIPv6 on",
		"User nobody",
		"Group nogroup",
		"Umask 022",
		"MaxInstances 200",
		"UseReverseDNS off",
		"TransferLog none",
		"WtmpLog off",
		"SystemLog none",
		"RequireValidShell off",
		"AuthOrder mod_auth_unix.c",
		"DefaultRoot " + root,
		"AllowOverwrite on",
		"AllowStoreRestart on",
		"AllowRetrieveRestart on",
		"ScoreboardFile " + filepath.Join(work, "proftpd.scoreboard"),
		"PidFile " + filepath.Join(work, "proftpd.pid"),
		"DelayTable none",
		fmt.Sprintf("PassivePorts %d %d", pasv[0], pasv[1]),
		"TimeoutLogin 30",
		"TimeoutIdle 120",
	}
	lines = append(lines, opts.Extra...)
	conf := filepath.Join(work, "proftpd.conf")
	if err := writeLines(conf, lines); err != nil {
		return nil, err
	}
	return []string{"--nodaemon", "--config", conf}, nil
}

func shadowHash(name string) (string, error) {
	b, err := os.ReadFile("/etc/shadow")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) > 1 && f[0] == name {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("no /etc/shadow entry for %s", name)
}
