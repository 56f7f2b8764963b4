-- Model calls: a request cache keyed by payload hash (a re-run never pays twice) and one row per
-- generation run with its provider, model, parameters, token counts and cost.

-- One row per distinct (model, messages, params), written as soon as the response arrives, so a
-- run that crashes half way resumes without sending what it already paid for.
CREATE TABLE llm_cache (
    payload_hash       VARCHAR PRIMARY KEY,     -- sha256 of canonical JSON of (model, messages, params)
    model              VARCHAR NOT NULL,
    request            JSON NOT NULL,           -- {model, messages, params}
    response           JSON NOT NULL,           -- the provider's chat completion, as returned
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cost_usd           DOUBLE,                  -- NULL: the model has no price in settings
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SEQUENCE generation_run_id_seq;
CREATE TABLE generation_runs (
    id                 BIGINT PRIMARY KEY DEFAULT nextval('generation_run_id_seq'),
    base_url           VARCHAR NOT NULL,        -- the OpenAI-compatible provider
    model              VARCHAR NOT NULL,
    template_hash      VARCHAR,
    params             JSON NOT NULL,           -- temperature, max_tokens, response format, budget
    started_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at        TIMESTAMPTZ,             -- NULL: still running or interrupted
    requests           INTEGER NOT NULL DEFAULT 0,   -- sent to the provider (not counting retries)
    cache_hits         INTEGER NOT NULL DEFAULT 0,
    prompt_tokens      BIGINT NOT NULL DEFAULT 0,    -- paid tokens only (cache hits excluded)
    completion_tokens  BIGINT NOT NULL DEFAULT 0,
    cost_usd           DOUBLE NOT NULL DEFAULT 0,
    status             VARCHAR NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'finished', 'budget_exhausted', 'failed'))
);
