-- name: examples
SELECT e.id, s.name AS source, e.messages, e.pii_findings, e.metadata
FROM examples e JOIN sources s ON s.id = e.source_id
WHERE list_contains($statuses, e.status)
ORDER BY e.id;

-- name: count_examples
SELECT count(*) FROM examples WHERE list_contains($statuses, status);

-- name: insert_run
INSERT INTO quality_runs (config, config_hash, actor) VALUES ($config, $config_hash, $actor) RETURNING id;

-- name: finish_run
UPDATE quality_runs SET examples = $examples, flagged = $flagged WHERE id = $run_id;

-- name: upsert_decided
INSERT INTO example_quality (example_id, run_id, flags)
SELECT example_id, run_id, flags FROM new_decided
ON CONFLICT (example_id) DO UPDATE SET run_id = excluded.run_id, flags = excluded.flags, decided_at = now();

-- name: current_flags_of
SELECT f.example_id, f.rule, f.reason, f.value
FROM quality_flags f JOIN example_quality q ON q.example_id = f.example_id AND q.run_id = f.run_id
WHERE list_contains($ids, f.example_id)
ORDER BY f.example_id, f.rule;

-- The funnel: examples checked, and per rule the examples its current flags remove (an example
-- can carry several flags, so the rules' counts may add up to more than "flagged").
-- name: funnel
SELECT (SELECT count(*) FROM example_quality) AS checked,
       (SELECT count(*) FROM example_quality WHERE flags > 0) AS flagged,
       (SELECT count(*) FROM example_quality WHERE flags = 0) AS kept;

-- name: funnel_by_rule
SELECT f.rule, count(DISTINCT f.example_id) AS examples
FROM quality_flags f JOIN example_quality q ON q.example_id = f.example_id AND q.run_id = f.run_id
GROUP BY f.rule ORDER BY examples DESC, f.rule;

-- name: runs
SELECT id, config_hash, actor, examples, flagged, created_at FROM quality_runs ORDER BY id DESC LIMIT 20;

-- Candidates push would send but for their quality flags (what `review push` leaves out).
-- name: flagged_candidates
SELECT count(*) AS n
FROM examples e
JOIN example_dedup x ON x.example_id = e.id
JOIN example_quality q ON q.example_id = e.id AND q.flags > 0
WHERE e.status = 'candidate' AND NOT x.is_duplicate
  AND NOT EXISTS (SELECT 1 FROM review_tasks t WHERE t.example_id = e.id AND t.ls_project_id = $project);

-- What `review push --order` ranks by: the example's class (template, recipe or kind), its
-- length, and its newest judge score (NULL when not judged).
-- name: queue_features
SELECT e.id, coalesce(e.metadata->>'template', e.metadata->>'recipe', e.kind) AS class,
       length(array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10))) AS chars,
       (SELECT j.score FROM example_judgements j WHERE j.example_id = e.id ORDER BY j.created_at DESC LIMIT 1) AS score
FROM examples e WHERE list_contains($ids, e.id);

-- Examples already in front of reviewers or decided, by source, class and length bin: what the
-- coverage order counts as represented.
-- name: queue_covered
SELECT s.name AS source, coalesce(e.metadata->>'template', e.metadata->>'recipe', e.kind) AS class,
       length(array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10))) AS chars
FROM examples e JOIN sources s ON s.id = e.source_id
WHERE e.status IN ('in_review', 'approved', 'rejected');

-- name: insert_flags
INSERT INTO quality_flags SELECT * FROM new_flags;

-- name: store_pii_findings
-- An example's first PII scan, made by the quality run for examples that had none.
UPDATE examples SET pii_findings = scanned.findings::JSON
FROM scanned WHERE examples.id = scanned.id AND examples.pii_findings IS NULL;
