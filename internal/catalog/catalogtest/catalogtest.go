// Package catalogtest opens throwaway catalogs for tests: SQLite always,
// and PostgreSQL when HOLDFAST_TEST_POSTGRES holds a server URL (each test
// gets its own schema, dropped afterwards).
package catalogtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/holdfast/holdfast/internal/catalog"
)

// PostgresEnv names the environment variable with a PostgreSQL URL.
const PostgresEnv = "HOLDFAST_TEST_POSTGRES"

// SQLite opens a fresh SQLite catalog in the test's temp dir.
func SQLite(t testing.TB) *catalog.Store {
	t.Helper()
	s, err := catalog.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres opens a catalog in a new schema of the server named by
// HOLDFAST_TEST_POSTGRES, or returns nil when it is not set.
func Postgres(t testing.TB) *catalog.Store {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		return nil
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "hf_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema on %s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := catalog.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs fn as a subtest against every available engine.
func Each(t *testing.T, fn func(t *testing.T, s *catalog.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		s := Postgres(t)
		if s == nil {
			t.Skip(PostgresEnv + " not set")
		}
		fn(t, s)
	})
}
