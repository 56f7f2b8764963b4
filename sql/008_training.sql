-- Training runs on an exported, approved dataset version, and what they measured. The run itself
-- is a separate process (python -m trainer run) writing into run_dir; the service copies its
-- status and results here (curator/training_jobs.py), so the API never imports torch.

CREATE SEQUENCE training_run_id_seq;
CREATE TABLE training_runs (
    id            BIGINT PRIMARY KEY DEFAULT nextval('training_run_id_seq'),
    version_id    BIGINT,                       -- dataset_versions.id from the export manifest
    version_ref   VARCHAR NOT NULL,             -- "name@N"
    content_hash  VARCHAR NOT NULL,             -- the version's content hash at export time
    export_dir    VARCHAR NOT NULL,
    base_model    VARCHAR NOT NULL,             -- local folder or hub id
    config        JSON NOT NULL,                -- the validated TrainConfig, as saved in run_dir/config.yaml
    run_dir       VARCHAR,
    status        VARCHAR NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    stage         VARCHAR,                      -- data, model, baseline, train, evaluate, merge
    pid           INTEGER,
    step          INTEGER,
    max_steps     INTEGER,
    error         VARCHAR,
    preflight     JSON,
    metrics       JSON,                         -- result.json: training numbers, eval summary, artifacts
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ
);

-- One row per (run, model, metric) on the version's test split: 'base' (before training), 'tuned'
-- (4-bit base + adapter, as trained) and 'merged' (the exported full-precision model, as served).
CREATE TABLE eval_results (
    run_id        BIGINT NOT NULL,
    model         VARCHAR NOT NULL CHECK (model IN ('base', 'tuned', 'merged')),
    split         VARCHAR NOT NULL DEFAULT 'test',
    metric        VARCHAR NOT NULL,             -- exact_match, token_f1, rouge_l, eval_loss
    value         DOUBLE,
    n             INTEGER NOT NULL,
    PRIMARY KEY (run_id, model, split, metric)
);

-- The per-example base vs fine-tuned table, for human review.
CREATE TABLE eval_examples (
    run_id        BIGINT NOT NULL,
    idx           INTEGER NOT NULL,
    prompt        VARCHAR NOT NULL,
    reference     VARCHAR NOT NULL,
    base_output   VARCHAR NOT NULL,
    tuned_output  VARCHAR NOT NULL,
    base_exact_match  DOUBLE, tuned_exact_match DOUBLE,
    base_token_f1     DOUBLE, tuned_token_f1    DOUBLE,
    base_rouge_l      DOUBLE, tuned_rouge_l     DOUBLE,
    PRIMARY KEY (run_id, idx)
);
