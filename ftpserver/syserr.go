package ftpserver

import "syscall"

var errPermission error = syscall.EACCES
