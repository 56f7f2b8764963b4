-- Jobs: every writing operation the service runs, one at a time, in order (curator/jobs/).
-- The runner keeps live progress in memory and writes a row at each state change, so a job
-- found 'running' or 'queued' at start-up belonged to a service that died; it is marked failed.

CREATE SEQUENCE job_id_seq;
CREATE TABLE jobs (
    id             BIGINT PRIMARY KEY DEFAULT nextval('job_id_seq'),
    kind           VARCHAR NOT NULL,            -- the operation's registered name, e.g. 'dedup'
    params         JSON NOT NULL,               -- the validated parameters model
    actor          VARCHAR NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress_done  BIGINT,
    progress_total BIGINT,
    progress_unit  VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    result         JSON,                        -- the result model, as the API and `--json` show it
    error          JSON,                        -- {"type", "detail", "status", "extra"} when failed
    log_tail       JSON                         -- the last lines the job logged
);
