-- Expert review in Label Studio. `reviews` is history: every annotation event (created, updated,
-- deleted) seen through a webhook or a reconciliation pull is one row, never overwritten;
-- the current verdict of an annotation is its newest row. `review_tasks` maps examples to
-- Label Studio tasks so a re-push never duplicates one.

CREATE TABLE review_projects (
    ls_project_id  BIGINT PRIMARY KEY,
    role           VARCHAR NOT NULL CHECK (role IN ('review', 'adjudication')),
    title          VARCHAR NOT NULL,
    config_hash    VARCHAR NOT NULL,
    overlap        INTEGER NOT NULL DEFAULT 1,
    webhook_id     BIGINT,                      -- Label Studio webhook sending us its events
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE review_tasks (
    example_id     BIGINT NOT NULL,
    ls_project_id  BIGINT NOT NULL,
    ls_task_id     BIGINT NOT NULL UNIQUE,
    draft          VARCHAR NOT NULL,            -- the assistant text shown to reviewers (model draft)
    overlap        INTEGER NOT NULL DEFAULT 1,
    pushed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (example_id, ls_project_id)
);

CREATE SEQUENCE review_id_seq;
CREATE TABLE reviews (
    id                 BIGINT PRIMARY KEY DEFAULT nextval('review_id_seq'),
    example_id         BIGINT NOT NULL,
    ls_project_id      BIGINT NOT NULL,
    ls_task_id         BIGINT NOT NULL,
    ls_annotation_id   BIGINT NOT NULL,
    event              VARCHAR NOT NULL CHECK (event IN ('created', 'updated', 'deleted')),
    received_via       VARCHAR NOT NULL CHECK (received_via IN ('webhook', 'pull')),
    is_adjudication    BOOLEAN NOT NULL DEFAULT false,
    ls_user_id         BIGINT,                  -- Label Studio user who annotated
    reviewer           VARCHAR NOT NULL,        -- that user's email (ls-user:<id> until known)
    verdict            VARCHAR CHECK (verdict IN ('accept', 'edit', 'reject')),
    edited_response    VARCHAR,                 -- the response text as the reviewer left it
    edit_diff          VARCHAR,                 -- unified diff of the draft against edited_response
    rating_correctness INTEGER CHECK (rating_correctness BETWEEN 1 AND 5),
    rating_style       INTEGER CHECK (rating_style BETWEEN 1 AND 5),
    reasons            JSON NOT NULL,           -- rejection reason codes
    comment            VARCHAR,
    lead_time          DOUBLE,                  -- seconds the reviewer spent, as Label Studio measured
    annotation_created_at TIMESTAMPTZ,
    annotation_updated_at TIMESTAMPTZ,          -- Label Studio's updated_at of the annotation
    payload_hash       VARCHAR NOT NULL,        -- sha256 of the result: same content, no new row
    recorded_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reviews_example ON reviews (example_id);
CREATE INDEX reviews_annotation ON reviews (ls_annotation_id);

-- Label Studio users seen, so reviews name a person even when the event carried only an id.
CREATE TABLE review_users (
    ls_user_id  BIGINT PRIMARY KEY,
    email       VARCHAR NOT NULL
);

-- Each annotation as it stands now: its newest row, unless that row is a deletion.
CREATE VIEW current_reviews AS
SELECT r.*, p.role AS project_role, coalesce(u.email, r.reviewer) AS reviewer_name
FROM (SELECT *, row_number() OVER (PARTITION BY ls_annotation_id ORDER BY id DESC) AS rn FROM reviews) r
LEFT JOIN review_projects p ON p.ls_project_id = r.ls_project_id
LEFT JOIN review_users u ON u.ls_user_id = r.ls_user_id
WHERE r.rn = 1 AND r.event <> 'deleted';

-- The verdict that counts for an example: one agreeing set of reviews, or an adjudication.
CREATE TABLE review_outcomes (
    example_id     BIGINT PRIMARY KEY,
    verdict        VARCHAR NOT NULL CHECK (verdict IN ('accept', 'edit', 'reject', 'disputed')),
    source         VARCHAR NOT NULL CHECK (source IN ('single', 'agreement', 'adjudication')),
    final_response VARCHAR,
    n_reviews      INTEGER NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
