package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

// Guard puts a policy in front of any backend: here, names ending in
// ".exe" are refused and every operation is printed (a logger would go
// there). The wrapped FS keeps the backend's optional interfaces, so a
// server still offers MFMT and SITE CHMOD on it.
func ExampleGuard() {
	backend := memfs.New()
	backend.WriteFile("report.txt", []byte("q3"))

	fsys := storage.Guard(backend, func(ctx context.Context, op storage.Op, name string) error {
		fmt.Println(op, name)
		if strings.HasSuffix(name, ".exe") {
			return &fs.PathError{Op: string(op), Path: name, Err: fs.ErrPermission}
		}
		return nil
	})
	ctx := context.Background()

	_, err := fsys.Create(ctx, "setup.exe", storage.CreateOptions{})
	fmt.Println("refused:", errors.Is(err, fs.ErrPermission))

	_, canSetTimes := fsys.(storage.Chtimeser)
	fmt.Println("MFMT still offered:", canSetTimes)

	fi, _ := fsys.Stat(ctx, "report.txt")
	fmt.Println(fi.Name(), fi.Size())
	// Output:
	// create setup.exe
	// refused: true
	// MFMT still offered: true
	// stat report.txt
	// report.txt 2
}
