package pgtest

import (
	"database/sql"
	"testing"
)

func TestAClusterStartsAndServesBothSocketAndTCP(t *testing.T) {
	c := Start(t)
	for _, dsn := range []string{c.DSN, c.SocketDSN, c.NewDatabase(t)} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		var one int
		if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("%s: SELECT 1 = %d, %v", dsn, one, err)
		}
		db.Close()
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}
