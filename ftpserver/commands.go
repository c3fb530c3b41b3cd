package ftpserver

// Argument rules for a command.
const (
	argOptional = iota
	argNone
	argRequired
)

// handler runs one command. It returns nil when it has replied itself, or
// an error that dispatch answers (see session.answer and replyFor).
type handler func(s *session, arg string) error

// cmdSpec describes how the control loop runs a command.
type cmdSpec struct {
	fn         handler // runs the command
	login      bool    // needs a logged-in user
	arg        int     // argOptional, argNone or argRequired
	concurrent bool    // may run while a transfer is in progress
	data       bool    // uses a data connection (PROT policy applies)
	help       string  // one-line syntax for HELP
}

// commands is the dispatch table: every verb the server knows.
var commands map[string]cmdSpec

func init() {
	commands = map[string]cmdSpec{
		// Access control (RFC 959 4.1.1).
		"USER": {fn: (*session).cmdUSER, arg: argRequired, help: "USER <name>"},
		"PASS": {fn: (*session).cmdPASS, help: "PASS <password>"},
		"ACCT": {fn: (*session).cmdACCT, arg: argRequired, help: "ACCT <account>"},
		"CWD":  {fn: (*session).cmdCWD, login: true, arg: argRequired, help: "CWD <path>"},
		"XCWD": {fn: (*session).cmdCWD, login: true, arg: argRequired, help: "XCWD <path>"},
		"CDUP": {fn: (*session).cmdCDUP, login: true, arg: argNone, help: "CDUP"},
		"XCUP": {fn: (*session).cmdCDUP, login: true, arg: argNone, help: "XCUP"},
		"SMNT": {fn: (*session).cmdSMNT, login: true, arg: argRequired, help: "SMNT <path>"},
		"REIN": {fn: (*session).cmdREIN, arg: argNone, help: "REIN"},
		"QUIT": {fn: (*session).cmdQUIT, arg: argNone, concurrent: true, help: "QUIT"},

		// Transfer parameters (RFC 959 4.1.2, RFC 2428).
		"PORT": {fn: (*session).cmdPORT, login: true, arg: argRequired, help: "PORT h1,h2,h3,h4,p1,p2"},
		"EPRT": {fn: (*session).cmdEPRT, login: true, arg: argRequired, help: "EPRT |proto|addr|port|"},
		"PASV": {fn: (*session).cmdPASV, login: true, arg: argNone, help: "PASV"},
		"EPSV": {fn: (*session).cmdEPSV, login: true, help: "EPSV [1|2|ALL]"},
		"TYPE": {fn: (*session).cmdTYPE, login: true, arg: argRequired, help: "TYPE A|I|L 8"},
		"STRU": {fn: (*session).cmdSTRU, login: true, arg: argRequired, help: "STRU F"},
		"MODE": {fn: (*session).cmdMODE, login: true, arg: argRequired, help: "MODE S"},

		// Service commands (RFC 959 4.1.3).
		"RETR": {fn: (*session).cmdRETR, login: true, data: true, arg: argRequired, help: "RETR <path>"},
		"STOR": {fn: (*session).cmdSTOR, login: true, data: true, arg: argRequired, help: "STOR <path>"},
		"STOU": {fn: (*session).cmdSTOU, login: true, data: true, help: "STOU [<name>]"},
		"APPE": {fn: (*session).cmdAPPE, login: true, data: true, arg: argRequired, help: "APPE <path>"},
		"ALLO": {fn: (*session).cmdALLO, login: true, arg: argRequired, help: "ALLO <bytes>"},
		"REST": {fn: (*session).cmdREST, login: true, arg: argRequired, help: "REST <offset>"},
		"RNFR": {fn: (*session).cmdRNFR, login: true, arg: argRequired, help: "RNFR <path>"},
		"RNTO": {fn: (*session).cmdRNTO, login: true, arg: argRequired, help: "RNTO <path>"},
		"ABOR": {fn: (*session).cmdABOR, arg: argNone, concurrent: true, help: "ABOR"},
		"DELE": {fn: (*session).cmdDELE, login: true, arg: argRequired, help: "DELE <path>"},
		"RMD":  {fn: (*session).cmdRMD, login: true, arg: argRequired, help: "RMD <path>"},
		"XRMD": {fn: (*session).cmdRMD, login: true, arg: argRequired, help: "XRMD <path>"},
		"MKD":  {fn: (*session).cmdMKD, login: true, arg: argRequired, help: "MKD <path>"},
		"XMKD": {fn: (*session).cmdMKD, login: true, arg: argRequired, help: "XMKD <path>"},
		"PWD":  {fn: (*session).cmdPWD, login: true, arg: argNone, help: "PWD"},
		"XPWD": {fn: (*session).cmdPWD, login: true, arg: argNone, help: "XPWD"},
		"LIST": {fn: (*session).cmdLIST, login: true, data: true, help: "LIST [-al] [<path>]"},
		"NLST": {fn: (*session).cmdNLST, login: true, data: true, help: "NLST [<path>]"},
		"SITE": {fn: (*session).cmdSITE, login: true, arg: argRequired, help: "SITE HELP|CHMOD <mode> <path>"},
		"SYST": {fn: (*session).cmdSYST, arg: argNone, help: "SYST"},
		"STAT": {fn: (*session).cmdSTAT, login: true, concurrent: true, help: "STAT [<path>]"},
		"HELP": {fn: (*session).cmdHELP, help: "HELP [<command>]"},
		"NOOP": {fn: (*session).cmdNOOP, arg: argNone, concurrent: true, help: "NOOP"},

		// Security extensions (RFC 2228, RFC 4217).
		"AUTH": {fn: (*session).cmdAUTH, arg: argRequired, help: "AUTH TLS"},
		"PBSZ": {fn: (*session).cmdPBSZ, arg: argRequired, help: "PBSZ 0"},
		"PROT": {fn: (*session).cmdPROT, arg: argRequired, help: "PROT C|P"},
		"CCC":  {fn: (*session).cmdCCC, login: true, arg: argNone, help: "CCC"},

		// Extensions.
		"FEAT": {fn: (*session).cmdFEAT, arg: argNone, help: "FEAT"},
		"OPTS": {fn: (*session).cmdOPTS, arg: argRequired, help: "OPTS <command> [<options>]"},
		"SIZE": {fn: (*session).cmdSIZE, login: true, arg: argRequired, help: "SIZE <path>"},
		"MDTM": {fn: (*session).cmdMDTM, login: true, arg: argRequired, help: "MDTM <path>"},
		"MFMT": {fn: (*session).cmdMFMT, login: true, arg: argRequired, help: "MFMT <YYYYMMDDHHMMSS> <path>"},
		"MLST": {fn: (*session).cmdMLST, login: true, help: "MLST [<path>]"},
		"MLSD": {fn: (*session).cmdMLSD, login: true, data: true, help: "MLSD [<path>]"},
		"HASH": {fn: (*session).cmdHASH, login: true, arg: argRequired, help: "HASH <path>"},
	}
}
