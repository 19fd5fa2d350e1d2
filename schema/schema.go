// Package schema holds the catalog's SQL migrations. One set of files
// serves SQLite and PostgreSQL: they use only the common dialect (TEXT,
// BIGINT, BOOLEAN, ON CONFLICT, RETURNING), binary values as base64 text,
// and times as Unix milliseconds.
package schema

import "embed"

// Migrations are goose-annotated SQL files, applied in name order.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Dir is the directory inside Migrations that holds the files.
const Dir = "migrations"
