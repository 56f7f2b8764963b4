-- Counts of reviewers' answers: the one definition behind `curator review status`, `curator stats`
-- and the stats page. Every count reads `outcome`, what the answer did (an accept whose text
-- changed is an edit, an edit that changed nothing an accept: sql/018_review_turns.sql), never
-- `verdict`, the button pressed. A skip is counted as skipped: it is not a verdict, and agreement
-- leaves it out.

-- name: by_reviewer
-- One row per reviewer (per reviewer and project with $by_project, as review status shows them).
-- `reviews` counts verdicts (accepted + edited + rejected); skips are apart in `skipped`.
SELECT reviewer_name AS reviewer, CASE WHEN $by_project THEN project_role END AS project,
       count(*) FILTER (WHERE outcome IN ('accept', 'edit', 'reject')) AS reviews,
       count(*) FILTER (WHERE outcome IN ('accept', 'edit', 'reject') AND is_adjudication) AS adjudications,
       count(*) FILTER (WHERE outcome = 'accept') AS accepted,
       count(*) FILTER (WHERE outcome = 'edit') AS edited,
       count(*) FILTER (WHERE outcome = 'reject') AS rejected,
       count(*) FILTER (WHERE outcome = 'skip') AS skipped,
       count(DISTINCT CAST(coalesce(annotation_updated_at, annotation_created_at, recorded_at) AS DATE))
           AS active_days,
       round(count(*) FILTER (WHERE outcome IN ('accept', 'edit', 'reject')) / greatest(count(DISTINCT
           CAST(coalesce(annotation_updated_at, annotation_created_at, recorded_at) AS DATE)), 1), 2)
           AS reviews_per_active_day,
       median(lead_time) FILTER (WHERE outcome IN ('accept', 'edit', 'reject')) AS median_seconds,
       min(coalesce(annotation_created_at, annotation_updated_at, recorded_at)) AS first_at,
       max(coalesce(annotation_created_at, annotation_updated_at, recorded_at)) AS last_at
FROM current_reviews GROUP BY ALL ORDER BY reviews DESC, reviewer, project;

-- name: reasons
-- The reason codes of the answers that rejected (adjudications included).
SELECT reason, count(*) AS n
FROM (SELECT unnest(from_json(reasons, '["VARCHAR"]')) AS reason FROM current_reviews WHERE outcome = 'reject')
GROUP BY reason ORDER BY n DESC, reason;

-- Pairs of current, non-adjudication outcomes by two different reviewers on one example: exact
-- agreement (accept/edit/reject) and keep-or-reject agreement (accept and edit both keep).
-- name: agreement_pairs
WITH cur AS (SELECT example_id, reviewer_name AS reviewer, outcome FROM current_reviews
             WHERE NOT is_adjudication AND outcome IN ('accept', 'edit', 'reject'))
SELECT a.reviewer AS reviewer_a, b.reviewer AS reviewer_b, count(*) AS pairs,
       count(*) FILTER (WHERE a.outcome = b.outcome) AS agree,
       count(*) FILTER (WHERE (a.outcome = 'reject') = (b.outcome = 'reject')) AS agree_keep
FROM cur a JOIN cur b ON a.example_id = b.example_id AND a.reviewer < b.reviewer
GROUP BY ALL ORDER BY reviewer_a, reviewer_b;

-- The same pairs as an outcome-by-outcome table, for the chance-corrected agreement.
-- name: agreement_matrix
WITH cur AS (SELECT example_id, reviewer_name AS reviewer, outcome FROM current_reviews
             WHERE NOT is_adjudication AND outcome IN ('accept', 'edit', 'reject'))
SELECT a.outcome AS a, b.outcome AS b, count(*) AS n
FROM cur a JOIN cur b ON a.example_id = b.example_id AND a.reviewer < b.reviewer
GROUP BY ALL ORDER BY a, b;

-- name: ratings_matrix
-- One row per (example, reviewer) of the review project, skips left out: the input of review
-- status's agreement figures (annotation/agreement.py), its `verdict` being the outcome.
SELECT c.example_id, c.reviewer_name AS reviewer, c.outcome AS verdict, c.rating_correctness, c.rating_style,
       coalesce(c.edited_response, t.draft) AS response
FROM current_reviews c
JOIN review_tasks t ON t.ls_task_id = c.ls_task_id
WHERE c.project_role = 'review' AND c.outcome IN ('accept', 'edit', 'reject')
ORDER BY c.example_id, c.reviewer_name;
