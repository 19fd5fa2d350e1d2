-- +goose Up

-- Retention and garbage collection.
--
-- Snapshots gain the state 'expired' (no schema change: the state column is
-- TEXT). Expired snapshots stay as rows for the record; their item versions
-- and the content nothing else references are collected.

-- Backups and retention's GC look up a tenant's running snapshots.
CREATE INDEX snapshots_tenant_state ON snapshots (tenant_id, state);

-- Pack objects found in the bucket that the index does not know (an upload
-- whose index transaction never happened: a crashed session), and since
-- when. GC deletes one only after it has stayed unknown for a grace period,
-- so a pack between its upload and its index transaction is never taken.
CREATE TABLE gc_orphans (
    tenant_id  TEXT NOT NULL,
    pack_id    TEXT NOT NULL,
    size       BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, pack_id)
);

-- +goose Down
DROP TABLE gc_orphans;
DROP INDEX snapshots_tenant_state;
