// Command s3build builds the S3 test server that internal/s3test starts
// into its cache folder ($FERRY_S3_CACHE, default /var/cache/ferry-s3), so
// that a CI warm-up step pays for the build before the tests run. It prints
// the binary's path.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ferryftp/ferry/internal/s3test"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin, err := s3test.Build(ctx, log.Printf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bin)
}
