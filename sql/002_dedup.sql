-- Near-duplicate detection: MinHash signatures (the data), verified candidate pairs (a cache
-- of exact Jaccard values), and per-run decisions. Nothing here deletes or hides a row: a
-- duplicate is a decision row pointing at its cluster's representative.

CREATE TABLE signatures (
    target      VARCHAR NOT NULL CHECK (target IN ('document', 'example')),
    row_id      BIGINT NOT NULL,
    params_key  VARCHAR NOT NULL,               -- shingling, num_perm, seed, scheme: what must match
    shingle     VARCHAR NOT NULL,
    ngram       INTEGER NOT NULL,
    num_perm    INTEGER NOT NULL,
    seed        BIGINT NOT NULL,
    n_shingles  INTEGER NOT NULL,
    hashvalues  BLOB NOT NULL,                  -- num_perm little-endian uint64 (datasketch affine64)
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (target, row_id, params_key)
);

CREATE SEQUENCE dedup_run_id_seq;
CREATE TABLE dedup_runs (
    id           BIGINT PRIMARY KEY DEFAULT nextval('dedup_run_id_seq'),
    target       VARCHAR NOT NULL,
    params_key   VARCHAR NOT NULL,
    params       JSON NOT NULL,                 -- threshold, bands, rows and the signature parameters
    engine       VARCHAR NOT NULL,
    actor        VARCHAR NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    counts       JSON NOT NULL                  -- rows hashed, pairs, clusters, seconds per stage
);

-- Every candidate pair ever verified, with its exact Jaccard: texts never change, so a pair is
-- verified once per parameter set; `estimated` marks values taken from signatures.
CREATE TABLE dedup_pairs (
    target      VARCHAR NOT NULL,
    params_key  VARCHAR NOT NULL,
    a_id        BIGINT NOT NULL,
    b_id        BIGINT NOT NULL,
    jaccard     DOUBLE NOT NULL,
    estimated   BOOLEAN NOT NULL,
    PRIMARY KEY (target, params_key, a_id, b_id)
);

CREATE TABLE dedup_decisions (
    run_id        BIGINT NOT NULL REFERENCES dedup_runs(id),
    target        VARCHAR NOT NULL,
    row_id        BIGINT NOT NULL,
    cluster_id    BIGINT NOT NULL,              -- the smallest row id of the cluster
    decision      VARCHAR NOT NULL CHECK (decision IN ('kept', 'duplicate')),
    duplicate_of  BIGINT,                       -- the representative, for duplicates
    jaccard       DOUBLE,                       -- exact Jaccard with the representative
    rule          VARCHAR NOT NULL,             -- why the representative won
    PRIMARY KEY (run_id, target, row_id)
);

-- A steward's choice of representative; it wins over the automatic rule in later runs.
CREATE TABLE dedup_overrides (
    target      VARCHAR NOT NULL,
    row_id      BIGINT NOT NULL,
    actor       VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (target, row_id)
);
