-- Dataset versions: immutable once created. A version freezes the exact messages of every
-- example (edits included) with its split, so the same version means the same bytes forever;
-- content_hash covers the parameters and every item. DuckDB has no triggers: the only write
-- paths are curator.versions.create (INSERT) and curator.versions.approve (draft -> approved),
-- and every read verifies content_hash, so rows altered underneath are detected, not trusted.

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
    dedup_run_id  BIGINT,                       -- the near-duplicate run the version was cut after
    dedup_params  JSON,                         -- params of that run (threshold of the leakage check)
    counts        JSON NOT NULL,                -- examples per split
    content_hash  VARCHAR NOT NULL,
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    approved_by   VARCHAR,
    approved_at   TIMESTAMPTZ,
    leakage       JSON,                         -- the clean leakage report approval was granted on
    UNIQUE (name, number),
    CHECK ((status = 'approved') = (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);

CREATE TABLE dataset_items (
    version_id    BIGINT NOT NULL,
    example_id    BIGINT NOT NULL,
    split         VARCHAR NOT NULL CHECK (split IN ('train', 'validation', 'test')),
    group_key     VARCHAR NOT NULL,             -- what kept it with its relatives (document / origin / cluster)
    messages      JSON NOT NULL,                -- the exact text at version time
    example_hash  VARCHAR NOT NULL,             -- sha256 of the canonical messages JSON
    PRIMARY KEY (version_id, example_id)
);

-- What `version create --where` filters on: approved, non-duplicate examples and the columns a
-- filter may name (README documents them). `rating` is the mean correctness rating of the
-- newest non-deleted review row of each annotation.
CREATE VIEW version_candidates AS
WITH ratings AS (
    SELECT example_id, avg(rating_correctness) AS rating, count(*) AS n_ratings
    FROM current_reviews WHERE rating_correctness IS NOT NULL
    GROUP BY example_id
)
SELECT e.id, s.name AS source, e.origin, e.kind, e.source_format, e.document_id,
       e.generation_run_id, e.metadata, e.warnings,
       json_array_length(e.messages) AS n_messages,
       length(array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10))) AS n_chars,
       r.rating, coalesce(r.n_ratings, 0) AS n_ratings, d.cluster_id, e.created_at
FROM examples e
JOIN sources s ON s.id = e.source_id
JOIN example_dedup d ON d.example_id = e.id
LEFT JOIN ratings r ON r.example_id = e.id
WHERE e.status = 'approved' AND NOT d.is_duplicate;
