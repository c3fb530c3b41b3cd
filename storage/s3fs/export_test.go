package s3fs

import "io"

// BufCap is the capacity of an upload writer's part buffer.
func BufCap(w io.Writer) int { return cap(w.(*writer).buf) }

// PartsSent is the number of parts an upload writer has sent.
func PartsSent(w io.Writer) int { return len(w.(*writer).parts) }
