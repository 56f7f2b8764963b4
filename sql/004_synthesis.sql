-- Synthesis: every model answer that did not become an example is recorded with its reason,
-- documents done with a template are marked so a re-run sends nothing, and synthetic examples
-- point at the generation run that made them.

CREATE SEQUENCE generation_failure_id_seq;
CREATE TABLE generation_failures (
    id            BIGINT PRIMARY KEY DEFAULT nextval('generation_failure_id_seq'),
    run_id        BIGINT,                       -- generation_runs.id; NULL when nothing was sent
    document_id   BIGINT NOT NULL,
    chunk_index   INTEGER NOT NULL,
    template_hash VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,             -- ungrounded, pii_blocked, schema_mismatch, http_429, ...
    reason        VARCHAR NOT NULL,
    payload_hash  VARCHAR,                      -- llm_cache key of the request, when one was sent
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A document is marked once every request for it was answered (ok or not); transport failures
-- (timeouts, 5xx, budget) leave it pending for the next run.
CREATE TABLE synthesis_documents (
    document_id   BIGINT NOT NULL,
    template_hash VARCHAR NOT NULL,
    run_id        BIGINT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, template_hash)
);

ALTER TABLE examples ADD COLUMN generation_run_id BIGINT;
