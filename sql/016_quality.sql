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

-- Auto-accept (curator/judge/auto_accept.py): a steward's policy per source and template, granted
-- only when calibration's lower bound meets the target on enough reviewed examples; switched off
-- (never deleted) when its audit sample's precision falls below the target.
CREATE SEQUENCE auto_accept_policy_id_seq;
CREATE TABLE auto_accept_policies (
    id               BIGINT PRIMARY KEY DEFAULT nextval('auto_accept_policy_id_seq'),
    source           VARCHAR NOT NULL,
    template         VARCHAR NOT NULL,
    model            VARCHAR NOT NULL,
    template_hash    VARCHAR NOT NULL,             -- the judge template's
    threshold        DOUBLE NOT NULL,
    target           DOUBLE NOT NULL,
    reviewed         INTEGER NOT NULL,             -- human-reviewed examples the grant rests on
    precision_lower  DOUBLE NOT NULL,
    audit_share      DOUBLE NOT NULL,
    enabled          BOOLEAN NOT NULL DEFAULT true,
    created_by       VARCHAR NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    disabled_at      TIMESTAMPTZ,
    disabled_reason  VARCHAR
);

-- One row per example a policy decided: auto-accepted, or drawn for the human audit sample.
CREATE TABLE example_auto_accept (
    example_id  BIGINT PRIMARY KEY,
    policy_id   BIGINT NOT NULL,
    score       DOUBLE NOT NULL,
    audit       BOOLEAN NOT NULL,
    decided_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
