-- name: pool
-- Approved, non-duplicate examples with what grouping needs and the response as review left it.
SELECT c.id, c.cluster_id, c.document_id, c.origin, e.messages,
       CASE WHEN o.verdict = 'edit' THEN o.final_response END AS final_response
FROM version_candidates c
JOIN examples e ON e.id = c.id
LEFT JOIN review_outcomes o ON o.example_id = c.id
WHERE c.id IN (SELECT unnest($ids::BIGINT[]))
ORDER BY c.id;

-- name: frozen_test
-- Examples in test in any approved earlier version of the name: they stay in test.
SELECT DISTINCT i.example_id
FROM dataset_items i JOIN dataset_versions v ON v.id = i.version_id
WHERE v.name = $name AND v.status = 'approved' AND i.split = 'test';

-- name: latest_of_name
SELECT id, number FROM dataset_versions WHERE name = $name ORDER BY number DESC LIMIT 1;

-- name: latest_dedup_run
SELECT id, params FROM dedup_runs WHERE target = 'example' ORDER BY id DESC LIMIT 1;

-- name: insert_version
INSERT INTO dataset_versions (name, number, parent_id, filter, min_rating, split_spec, seed, dedup_run_id,
                              dedup_params, counts, content_hash, created_by, created_at, grouping)
VALUES ($name, $number, $parent_id, $filter, $min_rating, $split_spec, $seed, $dedup_run_id,
        $dedup_params, $counts, $content_hash, $created_by, $created_at, $grouping)
RETURNING id;

-- name: insert_items
INSERT INTO dataset_items (version_id, example_id, split, group_key, messages, example_hash, label)
SELECT $version_id, example_id, split, group_key, messages, example_hash, label FROM staged_items;

-- name: by_ref
SELECT * FROM dataset_versions WHERE name = $name AND number = $number;

-- name: by_id
SELECT * FROM dataset_versions WHERE id = $id;

-- name: items
SELECT example_id, split, group_key, messages, example_hash, label
FROM dataset_items WHERE version_id = $version_id ORDER BY example_id;

-- name: list
SELECT id, name, number, status, counts, content_hash, parent_id, created_by, created_at, approved_by, approved_at
FROM dataset_versions
WHERE $name IS NULL OR name = $name
ORDER BY name, number;

-- name: approve
UPDATE dataset_versions
SET status = 'approved', approved_by = $approved_by, approved_at = $approved_at, leakage = $leakage
WHERE id = $id AND status = 'draft'
RETURNING id;

-- name: unsigned_in_pool
-- Examples of the pool the latest dedup run never signed: added since, so never clustered.
SELECT count(*) AS n FROM (SELECT unnest($ids::BIGINT[]) AS id) p
WHERE NOT EXISTS (SELECT 1 FROM signatures s WHERE s.target = 'example' AND s.row_id = p.id
                  AND s.params_key = (SELECT params_key FROM dedup_runs WHERE id = $dedup_run_id));

-- name: review_coverage
-- For the version gate (curator/versions/reviewed.py): each example's messages, the turns its
-- review task showed in editable boxes (NULL: a task pushed before that was recorded), the text
-- review decided for each, and whether an auto-accept policy approved it instead.
SELECT e.id, e.messages, t.turns AS task_turns, t.example_id IS NOT NULL AS has_task, o.final_turns,
       (a.example_id IS NOT NULL AND o.example_id IS NULL) AS auto_accepted
FROM examples e
LEFT JOIN (SELECT t.* FROM review_tasks t JOIN review_projects p USING (ls_project_id) WHERE p.role = 'review') t
       ON t.example_id = e.id
LEFT JOIN review_outcomes o ON o.example_id = e.id
LEFT JOIN (SELECT DISTINCT example_id FROM example_auto_accept) a ON a.example_id = e.id
WHERE e.id IN (SELECT unnest($ids::BIGINT[]))
ORDER BY e.id;
