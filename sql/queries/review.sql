-- name: projects
SELECT ls_project_id, role, title, config_hash, overlap, webhook_id FROM review_projects ORDER BY role;

-- name: upsert_project
INSERT INTO review_projects (ls_project_id, role, title, config_hash, overlap, webhook_id)
VALUES ($ls_project_id, $role, $title, $config_hash, $overlap, $webhook_id)
ON CONFLICT (ls_project_id) DO UPDATE SET title = excluded.title, config_hash = excluded.config_hash,
    overlap = excluded.overlap, webhook_id = excluded.webhook_id, updated_at = now();

-- name: set_overlap
UPDATE review_projects SET overlap = $overlap, updated_at = now() WHERE ls_project_id = $ls_project_id;

-- name: candidates
-- Candidates that passed dedup and have no task in the project yet, with what the reviewer sees.
SELECT e.id, e.messages, e.pii_findings, e.span_start, e.span_end, e.origin, d.text AS document_text,
       s.name AS source
FROM examples e
JOIN example_dedup x ON x.example_id = e.id
JOIN sources s ON s.id = e.source_id
LEFT JOIN documents d ON d.id = e.document_id
WHERE e.status = 'candidate' AND NOT x.is_duplicate
  AND NOT EXISTS (SELECT 1 FROM review_tasks t WHERE t.example_id = e.id AND t.ls_project_id = $project)
ORDER BY e.id
LIMIT $limit;

-- name: example_for_task
SELECT e.id, e.messages, e.pii_findings, e.span_start, e.span_end, e.origin, d.text AS document_text,
       s.name AS source
FROM examples e
JOIN sources s ON s.id = e.source_id
LEFT JOIN documents d ON d.id = e.document_id
WHERE e.id = $example_id;

-- name: insert_task
INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft, overlap)
VALUES ($example_id, $ls_project_id, $ls_task_id, $draft, $overlap)
ON CONFLICT DO NOTHING;

-- name: mark_in_review
UPDATE examples SET status = 'in_review' WHERE id = $id AND status = 'candidate';

-- name: task_ids
SELECT example_id, ls_task_id FROM review_tasks WHERE ls_project_id = $project;

-- name: task
SELECT t.example_id, t.ls_project_id, t.draft, t.overlap, p.role
FROM review_tasks t JOIN review_projects p USING (ls_project_id)
WHERE t.ls_task_id = $ls_task_id;

-- name: latest_event
SELECT event, payload_hash, example_id, ls_project_id, ls_task_id, ls_user_id, reviewer, is_adjudication
FROM reviews WHERE ls_annotation_id = $id ORDER BY id DESC LIMIT 1;

-- name: insert_review
INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, received_via,
    is_adjudication, ls_user_id, reviewer, verdict, edited_response, edit_diff, rating_correctness,
    rating_style, reasons, comment, lead_time, annotation_created_at, annotation_updated_at, payload_hash)
VALUES ($example_id, $ls_project_id, $ls_task_id, $ls_annotation_id, $event, $received_via,
    $is_adjudication, $ls_user_id, $reviewer, $verdict, $edited_response, $edit_diff, $rating_correctness,
    $rating_style, $reasons, $comment, $lead_time, $annotation_created_at, $annotation_updated_at, $payload_hash);

-- name: live_annotations
-- Annotations of a project that we hold as alive (to find those deleted in Label Studio).
SELECT ls_annotation_id, example_id, ls_task_id, ls_user_id, reviewer FROM current_reviews
WHERE ls_project_id = $project;

-- name: upsert_user
INSERT INTO review_users (ls_user_id, email) VALUES ($ls_user_id, $email)
ON CONFLICT (ls_user_id) DO UPDATE SET email = excluded.email;

-- name: current_for_example
SELECT ls_annotation_id, project_role, reviewer_name AS reviewer, ls_user_id, verdict, edited_response,
       rating_correctness, rating_style, reasons, comment, annotation_updated_at, id
FROM current_reviews WHERE example_id = $example_id
ORDER BY coalesce(annotation_updated_at, recorded_at), id;

-- name: review_task_of_example
SELECT t.ls_task_id, t.draft, t.overlap FROM review_tasks t JOIN review_projects p USING (ls_project_id)
WHERE t.example_id = $example_id AND p.role = 'review';

-- name: outcome
SELECT verdict, source, final_response, n_reviews FROM review_outcomes WHERE example_id = $example_id;

-- name: delete_outcome
DELETE FROM review_outcomes WHERE example_id = $example_id;

-- name: insert_outcome
INSERT INTO review_outcomes (example_id, verdict, source, final_response, n_reviews)
VALUES ($example_id, $verdict, $source, $final_response, $n_reviews);

-- name: example_messages
SELECT messages, status FROM examples WHERE id = $id;

-- name: set_example
UPDATE examples SET status = $status, messages = $messages WHERE id = $id;

-- name: disputed_without_adjudication
SELECT o.example_id FROM review_outcomes o
WHERE o.verdict = 'disputed'
  AND NOT EXISTS (SELECT 1 FROM review_tasks t JOIN review_projects p USING (ls_project_id)
                  WHERE t.example_id = o.example_id AND p.role = 'adjudication')
ORDER BY o.example_id;

-- name: queue
SELECT
  (SELECT count(*) FROM examples e JOIN example_dedup x ON x.example_id = e.id
    WHERE e.status = 'candidate' AND NOT x.is_duplicate) AS candidates,
  (SELECT count(*) FROM review_tasks t JOIN review_projects p USING (ls_project_id) WHERE p.role = 'review') AS pushed,
  (SELECT count(*) FROM review_tasks t JOIN review_projects p USING (ls_project_id)
    WHERE p.role = 'review' AND NOT EXISTS (SELECT 1 FROM review_outcomes o WHERE o.example_id = t.example_id))
    AS awaiting_review,
  (SELECT count(*) FROM review_outcomes WHERE verdict = 'disputed') AS awaiting_adjudication,
  (SELECT count(*) FROM review_outcomes WHERE verdict IN ('accept', 'edit')) AS approved,
  (SELECT count(*) FROM review_outcomes WHERE verdict = 'reject') AS rejected,
  (SELECT count(*) FROM review_outcomes WHERE source = 'adjudication') AS adjudicated,
  (SELECT count(*) FROM reviews) AS review_events;

-- name: throughput
SELECT reviewer_name AS reviewer, project_role AS project, count(*) AS reviews,
       count(*) FILTER (WHERE verdict = 'accept') AS accepted,
       count(*) FILTER (WHERE verdict = 'edit') AS edited,
       count(*) FILTER (WHERE verdict = 'reject') AS rejected,
       median(lead_time) AS median_seconds,
       min(coalesce(annotation_created_at, recorded_at)) AS first_at,
       max(coalesce(annotation_created_at, recorded_at)) AS last_at
FROM current_reviews GROUP BY ALL ORDER BY reviews DESC, reviewer;

-- name: rejection_reasons
SELECT reason, count(*) AS n
FROM (SELECT unnest(CAST(reasons AS VARCHAR[])) AS reason FROM current_reviews WHERE verdict = 'reject')
GROUP BY reason ORDER BY n DESC, reason;

-- name: ratings_matrix
-- One row per (example, reviewer) of the review project: the input of the agreement figures.
SELECT c.example_id, c.reviewer_name AS reviewer, c.verdict, c.rating_correctness, c.rating_style,
       coalesce(c.edited_response, t.draft) AS response
FROM current_reviews c
JOIN review_tasks t ON t.ls_task_id = c.ls_task_id
WHERE c.project_role = 'review'
ORDER BY c.example_id, c.reviewer_name;
