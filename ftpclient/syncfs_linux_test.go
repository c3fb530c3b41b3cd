package ftpclient

import (
	"path/filepath"
	"testing"
)

func TestMirrorDownSyncsTheFileSystemOnceAtTheEnd(t *testing.T) {
	addr, root := server(t, "127.0.0.1:0")
	for _, name := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(root, name), randomBytes(1000))
	}
	var synced []string
	real := syncFS
	syncFS = func(dir string) error { synced = append(synced, dir); return real(dir) }
	t.Cleanup(func() { syncFS = real })
	cl := testClient(t, addr)
	dst := t.TempDir()
	if _, err := cl.MirrorDown(testCtx(t), "/", dst, MirrorOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 0 {
		t.Fatalf("a dry run synced %q", synced)
	}
	st, err := cl.MirrorDown(testCtx(t), "/", dst, MirrorOptions{Verify: true, Parallel: 2})
	if err != nil || st.Files != 3 {
		t.Fatalf("MirrorDown = %+v, %v", st, err)
	}
	if len(synced) != 1 || synced[0] != dst {
		t.Fatalf("synced %q, want once %q", synced, dst)
	}
	// Nothing left to copy: nothing to sync.
	if _, err := cl.MirrorDown(testCtx(t), "/", dst, MirrorOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 {
		t.Fatalf("synced %q after a mirror that copied nothing", synced)
	}
}
