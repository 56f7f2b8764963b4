-- Dataset versions: immutable once created. A version freezes the exact messages of every
-- example (edits included) with its split, so the same version means the same bytes forever;
-- content_hash covers the parameters and every item.

CREATE SEQUENCE dataset_version_id_seq;
CREATE TABLE dataset_versions (
    id            BIGINT PRIMARY KEY DEFAULT nextval('dataset_version_id_seq'),
    name          VARCHAR NOT NULL,
    number        INTEGER NOT NULL,
    parent_id     BIGINT,                       -- previous version of this name
    status        VARCHAR NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved')),
    filter        VARCHAR,                      -- the --where filter as given
    min_rating    DOUBLE,
    split_spec    JSON NOT NULL,                -- {"train": 0.8, "validation": 0.1, "test": 0.1}
    seed          BIGINT NOT NULL,
    dedup_params  JSON,                         -- params of the dedup run the version was cut after
    counts        JSON NOT NULL,                -- examples per split
    content_hash  VARCHAR NOT NULL,
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    approved_by   VARCHAR,
    approved_at   TIMESTAMPTZ,
    UNIQUE (name, number)
);

CREATE TABLE dataset_items (
    version_id    BIGINT NOT NULL,
    example_id    BIGINT NOT NULL,
    split         VARCHAR NOT NULL CHECK (split IN ('train', 'validation', 'test')),
    group_key     VARCHAR NOT NULL,             -- what kept it with its relatives (cluster / source)
    messages      JSON NOT NULL,                -- the exact text at version time
    example_hash  VARCHAR NOT NULL,             -- sha256 of the canonical messages JSON
    PRIMARY KEY (version_id, example_id)
);
