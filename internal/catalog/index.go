package catalog

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/holdfast/holdfast/internal/vault"
)

// The catalog is the vault's chunk index.
var _ vault.Index = (*Store)(nil)

const lookupOne = `SELECT c.pack_id, c.pack_off, c.length, c.raw_len, p.key_id FROM chunks c
	JOIN packs p ON p.tenant_id = c.tenant_id AND p.id = c.pack_id WHERE c.tenant_id = ? AND c.id = ?`

// Lookup implements vault.Index.
func (s *Store) Lookup(ctx context.Context, tenantID string, ids []vault.ChunkID) (map[vault.ChunkID]vault.Location, error) {
	out := make(map[vault.ChunkID]vault.Location, len(ids))
	if len(ids) == 1 {
		// The backup's hot path (one lookup per new chunk): a prepared
		// statement spares parsing the SQL each time.
		stmt, err := s.stmt(ctx, lookupOne)
		if err != nil {
			return nil, err
		}
		var loc vault.Location
		err = stmt.QueryRowContext(ctx, tenantID, ids[0].String()).Scan(&loc.PackID, &loc.Offset, &loc.Length, &loc.RawLen, &loc.KeyID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return out, nil
		case err != nil:
			return nil, err
		}
		out[ids[0]] = loc
		return out, nil
	}
	hexIDs := make([]string, len(ids))
	for i, id := range ids {
		hexIDs[i] = id.String()
	}
	for start := 0; start < len(hexIDs); start += inBatch {
		batch := hexIDs[start:min(start+inBatch, len(hexIDs))]
		query, args, err := sqlx.In(`SELECT c.id, c.pack_id, c.pack_off, c.length, c.raw_len, p.key_id FROM chunks c
			JOIN packs p ON p.tenant_id = c.tenant_id AND p.id = c.pack_id
			WHERE c.tenant_id = ? AND c.id IN (?)`, tenantID, batch)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			ID     string `db:"id"`
			PackID string `db:"pack_id"`
			Off    int64  `db:"pack_off"`
			Length int64  `db:"length"`
			RawLen int64  `db:"raw_len"`
			KeyID  string `db:"key_id"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			id, err := vault.ParseChunkID(r.ID)
			if err != nil {
				return nil, err
			}
			out[id] = vault.Location{PackID: r.PackID, Offset: r.Off, Length: r.Length, RawLen: r.RawLen, KeyID: r.KeyID}
		}
	}
	return out, nil
}

// AddPack implements vault.Index: the pack and its chunks in one
// transaction; a chunk already indexed keeps its first pack.
func (s *Store) AddPack(ctx context.Context, tenantID string, p vault.PackInfo, entries []vault.IndexEntry) error {
	created := p.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO packs (tenant_id, id, key_id, size, chunks, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`),
			tenantID, p.ID, p.KeyID, p.Size, p.Chunks, ms(created)); err != nil {
			return err
		}
		stmt, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO chunks (tenant_id, id, pack_id, pack_off, length, raw_len)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range entries {
			if _, err := stmt.ExecContext(ctx, tenantID, e.ID.String(), e.PackID, e.Offset, e.Length, e.RawLen); err != nil {
				return err
			}
		}
		return nil
	})
}
