package ftp

// Reply codes. The comments name the RFC section that defines each code;
// RFC 959 section 4.2 lists most of them.
const (
	// 1yz: positive preliminary replies.

	CodeRestartMarker  = 110 // RFC 959 4.2: restart marker reply
	CodeServiceReadyIn = 120 // RFC 959 4.2: service ready in nnn minutes
	CodeDataConnOpen   = 125 // RFC 959 4.2: data connection already open; transfer starting
	CodeFileStatusOK   = 150 // RFC 959 4.2: file status okay; about to open data connection

	// 2yz: positive completion replies.

	CodeOK                 = 200 // RFC 959 4.2: command okay
	CodeSuperfluous        = 202 // RFC 959 4.2: command not implemented, superfluous at this site
	CodeSystemStatus       = 211 // RFC 959 4.2: system status, or system help reply (also FEAT, RFC 2389 3.2)
	CodeDirStatus          = 212 // RFC 959 4.2: directory status
	CodeFileStatus         = 213 // RFC 959 4.2: file status (also SIZE and MDTM, RFC 3659 3-4)
	CodeHelp               = 214 // RFC 959 4.2: help message
	CodeSystemType         = 215 // RFC 959 4.2: NAME system type
	CodeServiceReady       = 220 // RFC 959 4.2: service ready for new user
	CodeClosing            = 221 // RFC 959 4.2: service closing control connection
	CodeDataOpenNoTransfer = 225 // RFC 959 4.2: data connection open; no transfer in progress
	CodeClosingData        = 226 // RFC 959 4.2: closing data connection; requested action successful
	CodePassive            = 227 // RFC 959 4.2: entering passive mode (h1,h2,h3,h4,p1,p2)
	CodeExtendedPassive    = 229 // RFC 2428 3: entering extended passive mode (|||port|)
	CodeLoggedIn           = 230 // RFC 959 4.2: user logged in, proceed
	CodeAuthOK             = 234 // RFC 2228 4: security data exchange complete (AUTH TLS, RFC 4217 4.1)
	CodeFileActionOK       = 250 // RFC 959 4.2: requested file action okay, completed
	CodePathCreated        = 257 // RFC 959 4.2: "PATHNAME" created

	// 3yz: positive intermediate replies.

	CodeNeedPassword = 331 // RFC 959 4.2: user name okay, need password
	CodeNeedAccount  = 332 // RFC 959 4.2: need account for login
	CodePending      = 350 // RFC 959 4.2: requested file action pending further information

	// 4yz: transient negative completion replies.

	CodeNotAvailable        = 421 // RFC 959 4.2: service not available, closing control connection
	CodeCantOpenData        = 425 // RFC 959 4.2: can't open data connection
	CodeTransferAborted     = 426 // RFC 959 4.2: connection closed; transfer aborted
	CodeFileBusy            = 450 // RFC 959 4.2: requested file action not taken; file unavailable
	CodeLocalError          = 451 // RFC 959 4.2: requested action aborted; local error in processing
	CodeInsufficientStorage = 452 // RFC 959 4.2: requested action not taken; insufficient storage space

	// 5yz: permanent negative completion replies.

	CodeSyntaxError          = 500 // RFC 959 4.2: syntax error, command unrecognized
	CodeArgSyntax            = 501 // RFC 959 4.2: syntax error in parameters or arguments
	CodeNotImplemented       = 502 // RFC 959 4.2: command not implemented
	CodeBadSequence          = 503 // RFC 959 4.2: bad sequence of commands
	CodeParamNotImplemented  = 504 // RFC 959 4.2: command not implemented for that parameter
	CodeProtectionRequired   = 521 // RFC 4217 9: data connection cannot be opened with this PROT setting
	CodeNetProtoNotSupported = 522 // RFC 2428 2: network protocol not supported
	CodeDataTLSRefused       = 522 // RFC 4217 10: a data connection's TLS negotiation refused (same number as CodeNetProtoNotSupported)
	CodeNotLoggedIn          = 530 // RFC 959 4.2: not logged in
	CodeProtectionDenied     = 534 // RFC 2228 4: request denied for policy reasons
	CodeFileUnavailable      = 550 // RFC 959 4.2: requested action not taken; file unavailable
	CodePageTypeUnknown      = 551 // RFC 959 4.2: requested action aborted; page type unknown
	CodeExceededStorage      = 552 // RFC 959 4.2: requested file action aborted; exceeded storage allocation
	CodeBadFileName          = 553 // RFC 959 4.2: requested action not taken; file name not allowed
	CodeInvalidRestart       = 554 // RFC 3659 5.4: requested action not taken; invalid REST parameter
)

// The first digit of a reply code is its class (RFC 959 4.2): 1yz
// preliminary, 2yz completion, 3yz intermediate, 4yz and 5yz negative.

// IsPreliminary reports whether code is a positive preliminary reply (1yz):
// another reply to the same command follows.
func IsPreliminary(code int) bool { return code >= 100 && code < 200 }

// IsNegative reports whether code is a transient (4yz) or permanent (5yz)
// negative completion reply.
func IsNegative(code int) bool { return code >= 400 && code < 600 }

// IsPermanentNegative reports whether code is a permanent negative
// completion reply (5yz).
func IsPermanentNegative(code int) bool { return code >= 500 && code < 600 }
