-- +goose Up

-- Backup profiles: what to protect for a group of users, how often, for
-- how long, what to leave out, and who may restore or download.
CREATE TABLE profiles (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    id                 TEXT NOT NULL,           -- the admin's name for it
    apps               TEXT NOT NULL,           -- comma-separated
    interval_seconds   BIGINT NOT NULL,
    retention          TEXT NOT NULL,           -- JSON: app → days
    exclude_extensions TEXT NOT NULL DEFAULT '', -- comma-separated, lower case, with the dot
    exclude_folders    TEXT NOT NULL DEFAULT '', -- JSON list of folder names or /paths
    recoverable_items  BOOLEAN NOT NULL DEFAULT FALSE,
    restore_roles      TEXT NOT NULL DEFAULT '', -- comma-separated admin roles
    download_roles     TEXT NOT NULL DEFAULT '',
    cross_user_restore BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE users ADD COLUMN profile_id TEXT NOT NULL DEFAULT '';

-- Directory mapping rules: users matching them join a profile.
CREATE TABLE mappings (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,               -- group | attribute
    group_name TEXT NOT NULL DEFAULT '',
    attribute  TEXT NOT NULL DEFAULT '',
    value      TEXT NOT NULL DEFAULT '',
    profile_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Where directory sync stands (users/delta).
CREATE TABLE directory_sync (
    tenant_id  TEXT PRIMARY KEY,
    delta_link TEXT NOT NULL DEFAULT '',
    synced_at  BIGINT NOT NULL DEFAULT 0
);

-- Legal holds: a held user's backups are never expired.
CREATE TABLE holds (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- Administrators and their roles.
CREATE TABLE admins (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,               -- cloud-admin | backup-admin | restore-operator | compliance
    created_at BIGINT NOT NULL
);

-- Tenants being connected through admin consent. The credential is
-- sealed by the KEK, as in tenants.
CREATE TABLE connections (
    id            TEXT PRIMARY KEY,         -- the consent request's state parameter
    name          TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    auth_kind     TEXT NOT NULL,
    credential    TEXT NOT NULL,
    graph_url     TEXT NOT NULL,
    login_url     TEXT NOT NULL,            -- e.g. https://login.microsoftonline.com
    ca_file       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,            -- waiting | connected | denied | timed_out
    tenant_id     TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    finished_at   BIGINT NOT NULL DEFAULT 0
);

-- Runs of scheduled backups, for status and audit.
CREATE TABLE schedule_runs (
    id          TEXT PRIMARY KEY,           -- workflow ID
    tenant_id   TEXT NOT NULL,
    profile_id  TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    complete    BIGINT NOT NULL DEFAULT 0,
    partial     BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0
);

-- Expired snapshots stay as rows (state 'expired') for the record; their
-- item versions and unreferenced content are collected.
-- Tenant-wide leases: garbage collection and backups must not overlap
-- (a backup could deduplicate against a chunk being collected).
CREATE TABLE tenant_leases (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,               -- gc
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

-- +goose Down
DROP TABLE tenant_leases;
DROP TABLE schedule_runs;
DROP TABLE connections;
DROP TABLE admins;
DROP TABLE holds;
DROP TABLE directory_sync;
DROP TABLE mappings;
ALTER TABLE users DROP COLUMN profile_id;
DROP TABLE profiles;
