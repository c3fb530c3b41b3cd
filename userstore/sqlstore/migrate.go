package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrations holds the schema, one directory per dialect, one file per
// version: NNNN_description.sql. Versions are applied in order, each in the
// transaction that records it in ferry_schema_migrations, so a failed
// migration leaves the schema as it was. Never edit a released file: add a
// new version.
//
//go:embed migrations
var migrations embed.FS

// migration is one versioned schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the migrations of a dialect in version order.
func loadMigrations(d dialect) ([]migration, error) {
	dir := "migrations/sqlite"
	if d == postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s is not named NNNN_name.sql", e.Name())
		}
		data, err := migrations.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(data)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must count 1, 2, 3... without gaps", m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this build of the package creates.
func SchemaVersion() int {
	ms, err := loadMigrations(sqlite)
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the schema up to date. Concurrent Opens (several nodes
// starting at once) serialise on a PostgreSQL advisory lock, or on SQLite's
// write lock (transactions begin IMMEDIATE).
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.dialect == postgres {
		// An arbitrary constant naming "ferry schema migrations".
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7420194711)"); err != nil {
			return fmt.Errorf("locking for migrations: %w", err)
		}
	}
	ts := "TIMESTAMP"
	if s.dialect == postgres {
		ts = "TIMESTAMPTZ"
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ferry_schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at `+ts+` NOT NULL)`); err != nil {
		return fmt.Errorf("creating ferry_schema_migrations: %w", err)
	}
	var cur sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM ferry_schema_migrations").Scan(&cur); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if int(cur.Int64) > len(ms) {
		return fmt.Errorf("the database schema is version %d, newer than this ferry knows (%d): upgrade ferry", cur.Int64, len(ms))
	}
	for _, m := range ms[cur.Int64:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO ferry_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			m.version, m.name, time.Now().UTC()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return tx.Commit()
}
