package localfs

import (
	"os"
	"sync"
)

// WritebackSupported says whether uploads request writeback on the way
// on this system.
const WritebackSupported = writebackSupported

// SyncLog records what an FS's syncer was asked to do, in order, while
// doing it for real.
type SyncLog struct {
	mu sync.Mutex
	// Events holds one entry per call: {"start", off, n}, {"await", off,
	// n} or {"sync", 0, 0}.
	Events []SyncEvent
}

// SyncEvent is one call of a syncer.
type SyncEvent struct {
	Op     string
	Off, N int64
}

// Snapshot returns a copy of the events so far.
func (l *SyncLog) Snapshot() []SyncEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]SyncEvent(nil), l.Events...)
}

func (l *SyncLog) add(e SyncEvent) {
	l.mu.Lock()
	l.Events = append(l.Events, e)
	l.mu.Unlock()
}

type loggingSyncer struct{ log *SyncLog }

func (s loggingSyncer) startWriteback(f *os.File, off, n int64) bool {
	s.log.add(SyncEvent{"start", off, n})
	return osSyncer{}.startWriteback(f, off, n)
}

func (s loggingSyncer) awaitWriteback(f *os.File, off, n int64) {
	s.log.add(SyncEvent{"await", off, n})
	osSyncer{}.awaitWriteback(f, off, n)
}

func (s loggingSyncer) syncFile(f *os.File) error {
	s.log.add(SyncEvent{"sync", 0, 0})
	return osSyncer{}.syncFile(f)
}

// WatchSyncs makes f log its syncer's calls into the returned log and
// start writeback every chunk bytes. Call it before the uploads to watch.
func WatchSyncs(f *FS, chunk int64) *SyncLog {
	log := &SyncLog{}
	f.syncer, f.chunk = loggingSyncer{log}, chunk
	return log
}

// OpenThroughRoot makes f open every file through os.Root, the fallback
// of systems without openat2.
func OpenThroughRoot(f *FS) { f.rootDir = nil }
