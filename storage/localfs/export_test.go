package localfs

// OpenThroughRoot makes f open every file through os.Root, the fallback
// of systems without openat2.
func OpenThroughRoot(f *FS) { f.rootDir = nil }
