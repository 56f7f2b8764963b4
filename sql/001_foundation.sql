-- Foundation schema: sources, ingest batches and files, documents, imported examples,
-- rejects, exact-duplicate decisions, API keys and the audit log.
-- Rows are never deleted by the pipeline: duplicates and rejects are recorded, not dropped.

CREATE SEQUENCE source_id_seq;
CREATE TABLE sources (
    id          BIGINT PRIMARY KEY DEFAULT nextval('source_id_seq'),
    name        VARCHAR NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SEQUENCE batch_id_seq;
CREATE TABLE ingest_batches (
    id           BIGINT PRIMARY KEY DEFAULT nextval('batch_id_seq'),
    actor        VARCHAR NOT NULL,              -- cli:<user> or api:<key name>
    options      JSON NOT NULL,                 -- format, field mapping, limits in force
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at  TIMESTAMPTZ,                   -- NULL: still running or interrupted
    counts       JSON
);

-- One row per input file; written in the same transaction as the file's rows, so a file is
-- either wholly in the store or not at all, and a re-run skips files already committed.
CREATE SEQUENCE file_id_seq;
CREATE TABLE files (
    id           BIGINT PRIMARY KEY DEFAULT nextval('file_id_seq'),
    source_id    BIGINT NOT NULL REFERENCES sources(id),
    batch_id     BIGINT NOT NULL REFERENCES ingest_batches(id),
    path         VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    n_bytes      BIGINT NOT NULL,
    format       VARCHAR NOT NULL,
    documents    INTEGER NOT NULL,
    examples     INTEGER NOT NULL,
    duplicates   INTEGER NOT NULL,
    rejects      INTEGER NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_id, sha256)
);

CREATE SEQUENCE document_id_seq;
CREATE TABLE documents (
    id           BIGINT PRIMARY KEY DEFAULT nextval('document_id_seq'),
    source_id    BIGINT NOT NULL REFERENCES sources(id),
    batch_id     BIGINT NOT NULL REFERENCES ingest_batches(id),
    file_id      BIGINT NOT NULL REFERENCES files(id),
    origin       VARCHAR NOT NULL,              -- path:line or path:records[i]
    kind         VARCHAR NOT NULL CHECK (kind IN ('document', 'transcript')),
    title        VARCHAR,
    text         VARCHAR NOT NULL,              -- normalised text
    text_hash    VARCHAR NOT NULL UNIQUE,       -- sha256 of text
    n_chars      INTEGER NOT NULL,
    n_words      INTEGER NOT NULL,
    turns        JSON,                          -- transcripts: [{speaker, role, text}]
    metadata     JSON NOT NULL,
    pii          JSON,                          -- PII findings, filled by the PII step
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SEQUENCE example_id_seq;
CREATE TABLE examples (
    id            BIGINT PRIMARY KEY DEFAULT nextval('example_id_seq'),
    source_id     BIGINT NOT NULL REFERENCES sources(id),
    batch_id      BIGINT REFERENCES ingest_batches(id),
    file_id       BIGINT REFERENCES files(id),
    origin        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL CHECK (kind IN ('extracted', 'synthetic', 'imported')),
    source_format VARCHAR,                      -- chat | alpaca | prompt_completion
    messages      JSON NOT NULL,                -- OpenAI chat form
    content_hash  VARCHAR NOT NULL UNIQUE,      -- sha256 of the canonical messages JSON
    document_id   BIGINT REFERENCES documents(id),
    span_start    INTEGER,
    span_end      INTEGER,
    status        VARCHAR NOT NULL DEFAULT 'candidate'
                  CHECK (status IN ('candidate', 'in_review', 'approved', 'rejected')),
    warnings      JSON NOT NULL,                -- validation warnings that did not reject it
    metadata      JSON NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SEQUENCE reject_id_seq;
CREATE TABLE rejects (
    id          BIGINT PRIMARY KEY DEFAULT nextval('reject_id_seq'),
    source_id   BIGINT NOT NULL REFERENCES sources(id),
    batch_id    BIGINT NOT NULL REFERENCES ingest_batches(id),
    file_id     BIGINT REFERENCES files(id),
    origin      VARCHAR NOT NULL,
    code        VARCHAR NOT NULL,               -- malformed_json, invalid_utf8, binary_file, ...
    reason      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Exact duplicates skipped on ingest: the skipped record's origin, recorded against the kept row.
CREATE SEQUENCE duplicate_id_seq;
CREATE TABLE ingest_duplicates (
    id           BIGINT PRIMARY KEY DEFAULT nextval('duplicate_id_seq'),
    batch_id     BIGINT NOT NULL REFERENCES ingest_batches(id),
    file_id      BIGINT NOT NULL REFERENCES files(id),
    target       VARCHAR NOT NULL CHECK (target IN ('document', 'example')),
    kept_id      BIGINT NOT NULL,               -- documents.id or examples.id
    origin       VARCHAR NOT NULL,              -- where the skipped copy was
    metadata     JSON NOT NULL,                 -- the skipped copy's own fields (e.g. its target text)
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SEQUENCE api_key_id_seq;
CREATE TABLE api_keys (
    id           BIGINT PRIMARY KEY DEFAULT nextval('api_key_id_seq'),
    name         VARCHAR NOT NULL UNIQUE,
    role         VARCHAR NOT NULL CHECK (role IN ('reviewer', 'steward', 'admin')),
    key_hash     VARCHAR NOT NULL UNIQUE,       -- sha256 of the secret; the secret is shown once
    prefix       VARCHAR NOT NULL,              -- first characters, to recognise a key in logs
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at   TIMESTAMPTZ
);

CREATE SEQUENCE audit_id_seq;
CREATE TABLE audit_log (
    id       BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor    VARCHAR NOT NULL,
    action   VARCHAR NOT NULL,
    target   VARCHAR,
    details  JSON NOT NULL
);
