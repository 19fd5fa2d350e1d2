-- +goose Up

-- Monotonic counters (snapshot IDs). UPDATE ... RETURNING serialises
-- concurrent allocations on both engines.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('snapshot', 0), ('job', 0);

-- A protected Microsoft 365 tenant. The Graph credential is sealed by the
-- customer's KEK (keys.SealSecret); it is never stored in plaintext.
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,       -- Entra tenant ID (GUID)
    name          TEXT NOT NULL UNIQUE,   -- admin's label, e.g. "contoso"
    client_id     TEXT NOT NULL,
    auth_kind     TEXT NOT NULL,          -- secret | certificate
    credential    TEXT NOT NULL,          -- base64 of the keeper-sealed secret or PEM
    graph_url     TEXT NOT NULL,
    authority_url TEXT NOT NULL,
    ca_file       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,          -- connected | pending | denied
    created_at    BIGINT NOT NULL
);

-- The tenant's data-key generations ("ekey"), wrapped by the KEK. Exactly
-- one is current; older ones stay for reading packs they sealed.
CREATE TABLE tenant_keys (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    key_id           TEXT NOT NULL,
    wrapped_data_key TEXT NOT NULL,
    wrapped_chunk_key TEXT NOT NULL,
    is_current       BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
);

CREATE TABLE users (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    id           TEXT NOT NULL,           -- Entra object ID
    upn          TEXT NOT NULL,
    mail         TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT 'user', -- user | shared | room | equipment
    state        TEXT NOT NULL DEFAULT 'active', -- active | deleted
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_upn ON users (tenant_id, upn);

-- Which apps are protected for a user.
CREATE TABLE user_apps (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    app       TEXT NOT NULL,              -- onedrive | exchange | sharepoint | teams
    enabled   BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, user_id, app),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- One backup run of one user's app. IDs increase across the catalog, so a
-- user-app's snapshots are ordered by ID.
CREATE TABLE snapshots (
    id            BIGINT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    app           TEXT NOT NULL,
    trigger_kind  TEXT NOT NULL,          -- manual | scheduled | initial
    state         TEXT NOT NULL,          -- running | complete | partial | failed
    run_id        TEXT NOT NULL DEFAULT '',    -- the Temporal run that opened it
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    items_total   BIGINT NOT NULL DEFAULT 0, -- items in the snapshot
    items_changed BIGINT NOT NULL DEFAULT 0, -- versions this run wrote
    bytes_total   BIGINT NOT NULL DEFAULT 0, -- logical size of the snapshot
    bytes_new     BIGINT NOT NULL DEFAULT 0, -- content bytes this run fetched
    items_failed  BIGINT NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX snapshots_user_app ON snapshots (tenant_id, user_id, app, id);

-- Containers of a user-app (a drive; later mail folders, calendars...) and
-- their committed delta links. A link only changes in CommitSnapshot.
CREATE TABLE containers (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    app         TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    delta_link  TEXT NOT NULL DEFAULT '',
    snapshot_id BIGINT,                  -- snapshot that committed delta_link
    PRIMARY KEY (tenant_id, user_id, app, id)
);

-- What a running snapshot did per container; promoted at commit.
CREATE TABLE snapshot_containers (
    snapshot_id  BIGINT NOT NULL,
    container_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    done         BOOLEAN NOT NULL DEFAULT FALSE,
    error        TEXT NOT NULL DEFAULT '',  -- why the container failed; its link does not advance
    reenumerated BOOLEAN NOT NULL DEFAULT FALSE,
    delta_link   TEXT NOT NULL DEFAULT '',
    items        BIGINT NOT NULL DEFAULT 0,
    bytes        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (snapshot_id, container_id)
);

-- An item version is valid from the snapshot that first saw it (from_snap)
-- until the snapshot that saw it change or vanish (to_snap, NULL while
-- current). "The user-app as of snapshot S" is
--   from_snap <= S AND (to_snap IS NULL OR to_snap > S).
CREATE TABLE item_versions (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    app          TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    from_snap    BIGINT NOT NULL,
    to_snap      BIGINT,
    container_id TEXT NOT NULL,
    parent_id    TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    size         BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL DEFAULT 0,
    modified_at  BIGINT NOT NULL DEFAULT 0,
    etag         TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL DEFAULT '',
    content      TEXT NOT NULL DEFAULT '',  -- vault.Content, "" for folders
    meta         TEXT NOT NULL DEFAULT '',  -- app-specific JSON
    PRIMARY KEY (tenant_id, user_id, app, item_id, from_snap)
);
CREATE INDEX item_versions_current ON item_versions (tenant_id, user_id, app, container_id, to_snap);
CREATE INDEX item_versions_asof ON item_versions (tenant_id, user_id, app, from_snap);
CREATE INDEX item_versions_name ON item_versions (tenant_id, name);

-- Rows a running snapshot has made durable (content in uploaded packs) but
-- not yet committed. Upserts by item, so a resumed page or a repeated delta
-- item simply overwrites.
CREATE TABLE staged_items (
    snapshot_id  BIGINT NOT NULL,
    item_id      TEXT NOT NULL,
    op           TEXT NOT NULL,           -- upsert | delete | seen
    container_id TEXT NOT NULL,
    parent_id    TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    size         BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL DEFAULT 0,
    modified_at  BIGINT NOT NULL DEFAULT 0,
    etag         TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL DEFAULT '',
    content      TEXT NOT NULL DEFAULT '',
    meta         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (snapshot_id, item_id)
);

-- Items a snapshot could not back up, with why.
CREATE TABLE snapshot_failures (
    snapshot_id  BIGINT NOT NULL,
    item_id      TEXT NOT NULL,
    container_id TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, item_id)
);

-- Failed items the next run fetches explicitly, because the delta link
-- moves past them at commit.
CREATE TABLE retry_items (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    app          TEXT NOT NULL,
    container_id TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    snapshot_id  BIGINT NOT NULL,         -- snapshot that last failed it
    PRIMARY KEY (tenant_id, user_id, app, item_id)
);

-- The vault's index: a chunk is listed only after its pack was uploaded.
CREATE TABLE packs (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    chunks     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE chunks (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,              -- hex HMAC-SHA-256
    pack_id   TEXT NOT NULL,
    pack_off  BIGINT NOT NULL,
    length    BIGINT NOT NULL,
    raw_len   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX chunks_pack ON chunks (tenant_id, pack_id);

-- Restores and downloads, for status and audit.
CREATE TABLE jobs (
    id          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,            -- restore | export
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    app         TEXT NOT NULL,
    snapshot_id BIGINT NOT NULL,
    state       TEXT NOT NULL,            -- running | complete | partial | failed
    workflow_id TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '', -- restore folder, or export blob key
    items       BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    error       TEXT NOT NULL DEFAULT ''
);

-- Append-only record of admin actions.
CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    object  TEXT NOT NULL,
    before  TEXT NOT NULL DEFAULT '',
    after   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE jobs;
DROP TABLE chunks;
DROP TABLE packs;
DROP TABLE retry_items;
DROP TABLE snapshot_failures;
DROP TABLE staged_items;
DROP TABLE item_versions;
DROP TABLE snapshot_containers;
DROP TABLE containers;
DROP TABLE snapshots;
DROP TABLE user_apps;
DROP TABLE users;
DROP TABLE tenant_keys;
DROP TABLE tenants;
DROP TABLE counters;
