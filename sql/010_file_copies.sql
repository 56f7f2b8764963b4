-- Byte-identical copies of a file met in the same ingest batch (a contract filed twice under two
-- names): the copy is not parsed again, but its path is recorded against the kept file, in the
-- kept file's transaction, so every copy is traced (as ingest_duplicates does for records).
-- A file whose bytes an earlier batch already committed is counted as files_skipped instead.
CREATE SEQUENCE file_copy_id_seq;
CREATE TABLE file_copies (
    id            BIGINT PRIMARY KEY DEFAULT nextval('file_copy_id_seq'),
    batch_id      BIGINT NOT NULL REFERENCES ingest_batches(id),
    kept_file_id  BIGINT NOT NULL REFERENCES files(id),
    path          VARCHAR NOT NULL,              -- where the copy was
    sha256        VARCHAR NOT NULL,
    n_bytes       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
