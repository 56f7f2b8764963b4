-- Candidates the quality filters kept, not yet judged by this model and template.
-- name: pending
SELECT e.id, e.messages, e.span_start, e.span_end, d.text AS document_text
FROM examples e
JOIN example_dedup x ON x.example_id = e.id AND NOT x.is_duplicate
LEFT JOIN documents d ON d.id = e.document_id
LEFT JOIN example_quality q ON q.example_id = e.id
WHERE e.status IN ('candidate', 'in_review', 'approved', 'rejected') AND coalesce(q.flags, 0) = 0
  AND NOT EXISTS (SELECT 1 FROM example_judgements j
                  WHERE j.example_id = e.id AND j.model = $model AND j.template_hash = $template_hash)
ORDER BY e.id
LIMIT $limit;

-- name: insert
INSERT INTO example_judgements (example_id, model, template_name, template_hash, generation_run_id, correctness,
                                style, verdict, score, rationale, payload_hash)
VALUES ($example_id, $model, $template_name, $template_hash, $run_id, $correctness, $style, $verdict, $score,
        $rationale, $payload_hash)
ON CONFLICT DO NOTHING;

-- The newest judgement of each example (any model and template), for the reviewer's task.
-- name: latest_of
SELECT example_id, model, template_name, correctness, style, verdict, score, rationale
FROM example_judgements WHERE list_contains($ids, example_id)
QUALIFY row_number() OVER (PARTITION BY example_id ORDER BY created_at DESC) = 1;

-- Judge and human side by side on examples humans decided: the outcome's verdict and the mean of
-- the current (not deleted) review ratings, with the example's source and template.
-- name: paired
WITH current_reviews AS (
    SELECT * FROM reviews
    QUALIFY row_number() OVER (PARTITION BY ls_annotation_id ORDER BY id DESC) = 1
), ratings AS (
    SELECT example_id, avg(rating_correctness) AS human_correctness, avg(rating_style) AS human_style
    FROM current_reviews WHERE event <> 'deleted' AND NOT is_adjudication GROUP BY example_id
)
SELECT j.example_id, s.name AS source, coalesce(e.metadata->>'template', '(none)') AS template,
       j.score, j.verdict AS judge_verdict, j.correctness, j.style,
       o.verdict AS human_verdict, r.human_correctness, r.human_style
FROM example_judgements j
JOIN review_outcomes o ON o.example_id = j.example_id AND o.verdict <> 'disputed'
JOIN examples e ON e.id = j.example_id
JOIN sources s ON s.id = e.source_id
LEFT JOIN ratings r ON r.example_id = j.example_id
WHERE j.model = $model AND j.template_hash = $template_hash
ORDER BY j.example_id;

-- name: latest_lineage
SELECT model, template_hash, template_name FROM example_judgements ORDER BY created_at DESC LIMIT 1;

-- name: insert_policy
INSERT INTO auto_accept_policies (source, template, model, template_hash, threshold, target, reviewed,
                                  precision_lower, audit_share, created_by)
VALUES ($source, $template, $model, $template_hash, $threshold, $target, $reviewed, $precision_lower,
        $audit_share, $actor)
RETURNING id;

-- name: enabled_policies
SELECT * FROM auto_accept_policies WHERE enabled ORDER BY id;

-- name: policies
SELECT * FROM auto_accept_policies ORDER BY id;

-- name: disable_policy
UPDATE auto_accept_policies SET enabled = false, disabled_at = now(), disabled_reason = $reason WHERE id = $id;

-- The audit sample of a policy as humans decided it: accepted or not.
-- name: audit_outcomes
SELECT a.example_id, o.verdict = 'accept' AS accepted, o.decided_at
FROM example_auto_accept a JOIN review_outcomes o ON o.example_id = a.example_id AND o.verdict <> 'disputed'
WHERE a.policy_id = $policy_id AND a.audit
ORDER BY o.decided_at;

-- Candidates a policy may decide: kept by the filters, not duplicates, of its source and template,
-- judged by its model and template at or above its threshold, not decided before.
-- name: policy_candidates
SELECT e.id, j.score
FROM examples e
JOIN sources s ON s.id = e.source_id AND s.name = $source
JOIN example_dedup x ON x.example_id = e.id AND NOT x.is_duplicate
JOIN example_judgements j ON j.example_id = e.id AND j.model = $model AND j.template_hash = $template_hash
LEFT JOIN example_quality q ON q.example_id = e.id
WHERE e.status = 'candidate' AND coalesce(q.flags, 0) = 0 AND j.score >= $threshold
  AND coalesce(e.metadata->>'template', '(none)') = $template
  AND NOT EXISTS (SELECT 1 FROM example_auto_accept a WHERE a.example_id = e.id)
ORDER BY e.id;

-- name: auto_accept_insert
INSERT INTO example_auto_accept (example_id, policy_id, score, audit) VALUES (?, ?, ?, ?);

-- Provenance on the example itself: versions see it as metadata->'auto_accept'.
-- name: auto_accept_approve
UPDATE examples SET status = 'approved',
       metadata = json_merge_patch(metadata, json_object('auto_accept', json_object('policy_id', ?, 'score', ?)))
WHERE id = ?;
