-- +goose Up

-- Further vault contents per item version, named ("json=v1:… photo=v1:…"):
-- what an item has beyond its main content (a message's Graph JSON and
-- attachment tree beside its MIME; a contact's photo). GC keeps them all.
ALTER TABLE item_versions ADD COLUMN extra TEXT NOT NULL DEFAULT '';
ALTER TABLE staged_items ADD COLUMN extra TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE staged_items DROP COLUMN extra;
ALTER TABLE item_versions DROP COLUMN extra;
