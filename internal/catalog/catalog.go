// Package catalog is Holdfast's metadata store: tenants and their wrapped
// keys, users and their apps, snapshots, item versions, delta links, the
// vault's chunk index, restore/download jobs and the audit log.
//
// The same migrations (package schema) and the same SQL run on SQLite (the
// embedded default, pure Go) and PostgreSQL; queries are written with "?"
// placeholders and rebound for the engine.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite"

	"github.com/holdfast/holdfast/schema"
)

// ErrNotFound is returned (wrapped, with what was looked for) when a row
// does not exist.
var ErrNotFound = errors.New("not found")

// Store is the catalog. It is safe for concurrent use.
type Store struct {
	db     *sqlx.DB
	engine string // "sqlite" or "postgres"
	path   string // SQLite database file

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared hot-path statements
}

// stmt returns a prepared statement for a "?"-placeholder query, prepared
// once per Store. A *sql.Stmt is safe for concurrent use.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// maxIdleConns is the connections kept open between uses (and SQLite's
// limit): about the lookups and writes a worker makes at once.
const maxIdleConns = 8

// Open connects to the catalog at rawURL and applies pending migrations.
// URLs: sqlite:PATH (or sqlite://PATH) and postgres://… (postgresql://…).
func Open(ctx context.Context, rawURL string) (*Store, error) {
	driver, dsn, engine, path, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", engine, err)
	}
	if engine == "sqlite" {
		// WAL lets readers run beside the writer; immediate transactions
		// (set in the DSN) queue writers on busy_timeout instead of failing.
		db.SetMaxOpenConns(maxIdleConns)
	}
	// database/sql keeps 2 idle connections by default: a backup's parallel
	// lookups would close and reopen the rest all the time, and a new
	// connection costs its pragmas, re-prepared statements and (SQLite) a
	// cold page cache, or (PostgreSQL) a login.
	db.SetMaxIdleConns(maxIdleConns)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: cannot reach %s database: %w", engine, err)
	}
	s := &Store{db: db, engine: engine, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func parseURL(raw string) (driver, dsn, engine, path string, err error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", "", "", fmt.Errorf("catalog: bad PostgreSQL URL: %w", err)
		}
		return "pgx", raw, "postgres", "", nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", "", "", fmt.Errorf("catalog: sqlite URL %q has no file path", raw)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(20000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		return "sqlite", "file:" + path + "?" + q.Encode(), "sqlite", path, nil
	}
	return "", "", "", "", fmt.Errorf("catalog: unsupported database URL %q (want sqlite:PATH or postgres://…)", raw)
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(schema.Migrations, schema.Dir)
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.engine == "postgres" {
		dialect = goose.DialectPostgres
		// Two processes starting at once (worker and CLI) must not both migrate.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if s.engine == "sqlite" {
		// A worker and the CLI starting together must not both migrate.
		unlock, err := lockFile(s.path + ".migrate-lock")
		if err != nil {
			return fmt.Errorf("catalog: lock for migrations: %w", err)
		}
		defer unlock()
	}
	p, err := goose.NewProvider(dialect, s.db.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("catalog: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("catalog: apply migrations: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// Engine is "sqlite" or "postgres".
func (s *Store) Engine() string { return s.engine }

// DB exposes the handle for tests and tools.
func (s *Store) DB() *sqlx.DB { return s.db }

// tx runs fn in a transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// q rebinds a "?"-placeholder query for the engine.
func (s *Store) q(query string) string { return s.db.Rebind(query) }

// next allocates the next value of a named counter.
func next(ctx context.Context, tx *sqlx.Tx, name string) (int64, error) {
	var v int64
	err := tx.GetContext(ctx, &v, tx.Rebind(`UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value`), name)
	return v, err
}

// ms converts a time to the stored form (Unix milliseconds, UTC).
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts a stored time back; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func nullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// lockFile holds an exclusive advisory lock on path until unlock.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
