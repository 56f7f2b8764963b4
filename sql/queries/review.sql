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
-- Candidates that passed dedup and have no task in the project yet, with what the reviewer sees;
-- narrowed by source name and example kind, in the order asked (id, newest, random by a seeded hash).
SELECT e.id, e.kind, e.messages, e.pii_findings, e.span_start, e.span_end, e.origin, d.text AS document_text,
       d.kind AS document_kind, d.turns AS document_turns, s.name AS source
FROM examples e
JOIN example_dedup x ON x.example_id = e.id
JOIN sources s ON s.id = e.source_id
LEFT JOIN documents d ON d.id = e.document_id
WHERE e.status = 'candidate' AND NOT x.is_duplicate
  AND NOT EXISTS (SELECT 1 FROM review_tasks t WHERE t.example_id = e.id AND t.ls_project_id = $project)
  AND ($include_flagged OR NOT EXISTS (SELECT 1 FROM example_quality q WHERE q.example_id = e.id AND q.flags > 0))
  AND ($sources IS NULL OR list_contains($sources, s.name))
  AND ($kinds IS NULL OR list_contains($kinds, e.kind))
ORDER BY CASE WHEN $order = 'newest' THEN -e.id WHEN $order = 'random' THEN CAST(hash(e.id, $seed) % 1000000007 AS BIGINT) ELSE e.id END, e.id
LIMIT $limit;

-- name: example_for_task
SELECT e.id, e.kind, e.messages, e.pii_findings, e.span_start, e.span_end, e.origin, d.text AS document_text,
       d.kind AS document_kind, d.turns AS document_turns, s.name AS source
FROM examples e
JOIN sources s ON s.id = e.source_id
LEFT JOIN documents d ON d.id = e.document_id
WHERE e.id = $example_id;

-- name: insert_task
INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft, turns, overlap)
VALUES ($example_id, $ls_project_id, $ls_task_id, $draft, $turns, $overlap)
ON CONFLICT DO NOTHING;

-- name: mark_in_review
UPDATE examples SET status = 'in_review' WHERE id = $id AND status = 'candidate';

-- name: task_ids
SELECT example_id, ls_task_id FROM review_tasks WHERE ls_project_id = $project;

-- name: upsert_user
INSERT INTO review_users (ls_user_id, email) VALUES ($ls_user_id, $email)
ON CONFLICT (ls_user_id) DO UPDATE SET email = excluded.email;

-- name: current_for_example
SELECT ls_annotation_id, project_role, reviewer_name AS reviewer, ls_user_id, verdict, outcome, edited_response,
       edited_turns, rating_correctness, rating_style, reasons, comment, annotation_updated_at, id
FROM current_reviews WHERE example_id = $example_id
ORDER BY coalesce(annotation_updated_at, recorded_at), id;

-- name: review_task_of_example
SELECT t.ls_task_id, t.draft, t.overlap FROM review_tasks t JOIN review_projects p USING (ls_project_id)
WHERE t.example_id = $example_id AND p.role = 'review';

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

-- name: tasks_by_id
SELECT t.ls_task_id, t.example_id, t.ls_project_id, t.draft, t.turns, t.overlap, p.role
FROM review_tasks t JOIN review_projects p USING (ls_project_id)
WHERE $task_ids IS NULL OR list_contains($task_ids, t.ls_task_id);

-- name: latest_events
SELECT ls_annotation_id, event, payload_hash, example_id, ls_project_id, ls_task_id, ls_user_id, reviewer,
       is_adjudication
FROM (SELECT *, row_number() OVER (PARTITION BY ls_annotation_id ORDER BY id DESC) AS rn FROM reviews
      WHERE $annotation_ids IS NULL OR list_contains($annotation_ids, ls_annotation_id))
WHERE rn = 1;

-- name: current_for_examples
SELECT example_id, ls_annotation_id, project_role, reviewer_name AS reviewer, verdict, edited_response, edited_turns,
       skipped
FROM current_reviews WHERE list_contains($example_ids, example_id)
ORDER BY example_id, coalesce(annotation_updated_at, recorded_at), id;

-- name: review_tasks_of_examples
SELECT t.example_id, t.draft, t.turns, t.overlap FROM review_tasks t JOIN review_projects p USING (ls_project_id)
WHERE p.role = 'review' AND list_contains($example_ids, t.example_id);

-- name: examples_state
SELECT id, messages, status, pii_findings FROM examples WHERE list_contains($example_ids, id);

-- name: set_pii_findings
UPDATE examples SET pii_findings = $findings WHERE id = $id AND pii_findings IS NULL;

-- name: where_ids
-- The examples a `review push --where` predicate selects: annotation/selection.py puts the user's
-- SQL boolean expression in the placeholder below, has curator.readonly_sql check this very
-- statement, then runs it in a read-only transaction.
SELECT id FROM examples WHERE (
{predicate}
);

-- name: insert_task_batch
-- One push batch (the registered Arrow table new_tasks) into review_tasks.
INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft, turns, overlap)
SELECT example_id, ls_project_id, ls_task_id, draft, turns, overlap FROM new_tasks
ON CONFLICT DO NOTHING;

-- name: mark_batch_in_review
UPDATE examples SET status = 'in_review' FROM new_tasks
WHERE examples.id = new_tasks.example_id AND examples.status = 'candidate';

-- name: user_emails
SELECT ls_user_id, email FROM review_users;

-- name: insert_review_batch
-- History rows a Recorder collected (the registered Arrow table new_reviews).
INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, received_via, is_adjudication,
                     ls_user_id, reviewer, verdict, edited_response, edit_diff, rating_correctness, rating_style,
                     reasons, comment, lead_time, annotation_created_at, annotation_updated_at, payload_hash,
                     edited_turns, skipped, outcome)
SELECT example_id, ls_project_id, ls_task_id, ls_annotation_id, event, received_via, is_adjudication,
       ls_user_id, reviewer, verdict, edited_response, edit_diff, rating_correctness, rating_style,
       reasons, comment, lead_time, annotation_created_at, annotation_updated_at, payload_hash,
       edited_turns, coalesce(skipped, false), outcome
FROM new_reviews;

-- name: delete_outcomes
DELETE FROM review_outcomes WHERE list_contains($ids, example_id);

-- name: insert_outcome_batch
-- Outcomes recomputed in one transaction (the registered Arrow table outcome_batch).
INSERT INTO review_outcomes (example_id, verdict, source, final_response, final_turns, n_reviews)
SELECT example_id, verdict, source, final_response, final_turns, n_reviews FROM outcome_batch;

-- name: apply_example_batch
-- Examples following their outcome: status and the response that counts (Arrow table example_batch).
UPDATE examples SET status = example_batch.status, messages = example_batch.messages,
    pii_findings = example_batch.pii_findings FROM example_batch
WHERE examples.id = example_batch.id;
