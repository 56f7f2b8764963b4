-- Quality filters (curator/quality/): each run keeps its config; every flag of a run is kept;
-- example_quality says which run decided each example last, so current flags are one join and
-- nothing is ever deleted.

CREATE SEQUENCE quality_run_id_seq;
CREATE TABLE quality_runs (
    id           BIGINT PRIMARY KEY DEFAULT nextval('quality_run_id_seq'),
    config       JSON NOT NULL,
    config_hash  VARCHAR NOT NULL,
    actor        VARCHAR NOT NULL,
    examples     BIGINT,
    flagged      BIGINT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE quality_flags (
    run_id      BIGINT NOT NULL REFERENCES quality_runs(id),
    example_id  BIGINT NOT NULL REFERENCES examples(id),
    rule        VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    value       VARCHAR
);

CREATE TABLE example_quality (
    example_id  BIGINT PRIMARY KEY,
    run_id      BIGINT NOT NULL,
    flags       INTEGER NOT NULL,
    decided_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The model judge (curator/judge/): one judgement per example, judge model and template hash;
-- a suggestion stored apart from human reviews. generation_run_id carries its cost.
CREATE TABLE example_judgements (
    example_id         BIGINT NOT NULL REFERENCES examples(id),
    model              VARCHAR NOT NULL,
    template_name      VARCHAR NOT NULL,
    template_hash      VARCHAR NOT NULL,
    generation_run_id  BIGINT,
    correctness        INTEGER CHECK (correctness BETWEEN 1 AND 5),
    style              INTEGER CHECK (style BETWEEN 1 AND 5),
    verdict            VARCHAR CHECK (verdict IN ('accept', 'edit', 'reject')),
    score              DOUBLE CHECK (score BETWEEN 0 AND 1),   -- the judge's probability of "accept"
    rationale          VARCHAR,
    payload_hash       VARCHAR,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (example_id, model, template_hash)
);
