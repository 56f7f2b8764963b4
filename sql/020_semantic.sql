-- Semantic near-duplicates (issue 25): embeddings cached by (model, text hash), so a re-run
-- embeds only new texts; semantic runs with their pairs (cosine) and decisions, beside MinHash's
-- tables so that each method's "latest run" stays its own. A row is a duplicate when either
-- method's latest run says so (example_dedup below); nothing is deleted.

CREATE TABLE embeddings (
    model       VARCHAR NOT NULL,               -- backend, model and PII policy: what must match
    text_hash   VARCHAR NOT NULL,               -- SHA-256 of the text as stored (before any redaction)
    dim         INTEGER NOT NULL,
    vector      BLOB NOT NULL,                  -- dim little-endian float32, L2-normalised
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (model, text_hash)
);

CREATE SEQUENCE semantic_run_id_seq;
CREATE TABLE semantic_runs (
    id          BIGINT PRIMARY KEY DEFAULT nextval('semantic_run_id_seq'),
    target      VARCHAR NOT NULL CHECK (target IN ('document', 'example')),
    model       VARCHAR NOT NULL,
    params      JSON NOT NULL,                  -- cosine threshold, index, model
    actor       VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    counts      JSON NOT NULL
);

CREATE TABLE semantic_pairs (
    run_id      BIGINT NOT NULL REFERENCES semantic_runs(id),
    a_id        BIGINT NOT NULL,
    b_id        BIGINT NOT NULL,
    cosine      DOUBLE NOT NULL,
    PRIMARY KEY (run_id, a_id, b_id)
);

CREATE TABLE semantic_decisions (
    run_id        BIGINT NOT NULL REFERENCES semantic_runs(id),
    target        VARCHAR NOT NULL,
    row_id        BIGINT NOT NULL,
    cluster_id    BIGINT NOT NULL,
    decision      VARCHAR NOT NULL CHECK (decision IN ('kept', 'duplicate')),
    duplicate_of  BIGINT,
    cosine        DOUBLE,                       -- cosine with the representative
    rule          VARCHAR NOT NULL,
    PRIMARY KEY (run_id, target, row_id)
);

CREATE OR REPLACE VIEW example_dedup AS
WITH latest AS (SELECT max(id) AS run_id FROM dedup_runs WHERE target = 'example'),
     semantic AS (SELECT max(id) AS run_id FROM semantic_runs WHERE target = 'example')
SELECT e.id AS example_id,
       coalesce(d.cluster_id, e.id) AS cluster_id,
       coalesce(d.decision = 'duplicate', false) OR coalesce(s.decision = 'duplicate', false) AS is_duplicate,
       coalesce(d.duplicate_of, s.duplicate_of) AS duplicate_of,
       coalesce(d.decision = 'duplicate', false) AS minhash_duplicate,
       coalesce(s.decision = 'duplicate', false) AS semantic_duplicate
FROM examples e
LEFT JOIN dedup_decisions d
       ON d.target = 'example' AND d.row_id = e.id AND d.run_id = (SELECT run_id FROM latest)
LEFT JOIN semantic_decisions s
       ON s.target = 'example' AND s.row_id = e.id AND s.run_id = (SELECT run_id FROM semantic);
