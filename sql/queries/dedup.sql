-- Near-duplicate detection. Rows of a target are read through dedup_texts_* so documents and
-- examples (message contents joined) are shingled the same way.

-- Streamed in record batches while signing: every row without a signature, with its text, in one
-- scan (no id list to bind). No ORDER BY (a sort drags every text through it); the caller sorts.
-- name: unsigned_texts_documents
SELECT d.id, d.text FROM documents d
WHERE NOT EXISTS (SELECT 1 FROM signatures s
                  WHERE s.target = 'document' AND s.row_id = d.id AND s.params_key = $params_key);

-- name: unsigned_texts_examples
SELECT e.id, array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10)) AS text
FROM examples e
WHERE NOT EXISTS (SELECT 1 FROM signatures s
                  WHERE s.target = 'example' AND s.row_id = e.id AND s.params_key = $params_key);

-- name: count_unsigned_documents
SELECT count(*) FROM documents d
WHERE NOT EXISTS (SELECT 1 FROM signatures s
                  WHERE s.target = 'document' AND s.row_id = d.id AND s.params_key = $params_key);

-- name: count_unsigned_examples
SELECT count(*) FROM examples e
WHERE NOT EXISTS (SELECT 1 FROM signatures s
                  WHERE s.target = 'example' AND s.row_id = e.id AND s.params_key = $params_key);

-- The id range ($lo..$hi, the smallest and largest of $ids) is a filter the scan prunes row groups
-- with (zone maps), so a batch of neighbouring ids reads only the part of the table they sit in.
-- No ORDER BY: sorting drags every text through the sort (3× the read); the caller sorts ids.

-- name: texts_documents
SELECT d.id, d.text FROM documents d
WHERE d.id BETWEEN $lo AND $hi AND d.id IN (SELECT unnest($ids::BIGINT[]));

-- name: texts_examples
SELECT e.id, array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10)) AS text
FROM examples e WHERE e.id BETWEEN $lo AND $hi AND e.id IN (SELECT unnest($ids::BIGINT[]));

-- name: insert_signatures
INSERT INTO signatures (target, row_id, params_key, shingle, ngram, num_perm, seed, n_shingles, hashvalues)
SELECT $target, row_id, $params_key, $shingle, $ngram, $num_perm, $seed, n_shingles, hashvalues FROM staged_signatures;

-- Streamed in record batches into one preallocated matrix: no ORDER BY (a sort would hold every
-- blob at once); the reader sorts the rare out-of-order result itself.
-- name: load_signatures
SELECT row_id, hashvalues FROM signatures
WHERE target = $target AND params_key = $params_key AND n_shingles > 0;

-- name: count_signatures
SELECT count(*) FROM signatures WHERE target = $target AND params_key = $params_key AND n_shingles > 0;

-- name: signature_params
SELECT DISTINCT params_key FROM signatures WHERE target = $target;

-- name: cached_pairs
SELECT c.a_id, c.b_id, p.jaccard, p.estimated FROM staged_candidates c
JOIN dedup_pairs p ON p.target = $target AND p.params_key = $params_key AND p.a_id = c.a_id AND p.b_id = c.b_id;

-- name: insert_pairs
INSERT INTO dedup_pairs (target, params_key, a_id, b_id, jaccard, estimated)
SELECT $target, $params_key, a_id, b_id, jaccard, estimated FROM staged_pairs
ON CONFLICT DO NOTHING;

-- name: row_facts_documents
SELECT d.id, d.n_chars, false AS approved, (o.row_id IS NOT NULL) AS chosen
FROM documents d LEFT JOIN dedup_overrides o ON o.target = 'document' AND o.row_id = d.id
WHERE d.id IN (SELECT unnest($ids::BIGINT[]));

-- name: row_facts_examples
SELECT e.id, length(array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10))) AS n_chars,
       e.status = 'approved' AS approved, (o.row_id IS NOT NULL) AS chosen
FROM examples e LEFT JOIN dedup_overrides o ON o.target = 'example' AND o.row_id = e.id
WHERE e.id IN (SELECT unnest($ids::BIGINT[]));

-- name: insert_run
INSERT INTO dedup_runs (target, params_key, params, engine, actor, counts)
VALUES ($target, $params_key, $params, $engine, $actor, $counts) RETURNING id;

-- name: insert_decisions
INSERT INTO dedup_decisions (run_id, target, row_id, cluster_id, decision, duplicate_of, jaccard, rule)
SELECT $run_id, $target, row_id, cluster_id, decision, duplicate_of, jaccard, rule FROM staged_decisions;

-- name: latest_run
SELECT id, params_key, params FROM dedup_runs WHERE target = $target ORDER BY id DESC LIMIT 1;

-- name: cluster_of
SELECT d.row_id, d.cluster_id, d.decision, d.duplicate_of, d.jaccard, d.rule
FROM dedup_decisions d
WHERE d.run_id = $run_id AND d.target = $target
  AND d.cluster_id = (SELECT cluster_id FROM dedup_decisions WHERE run_id = $run_id AND target = $target AND row_id = $row_id)
ORDER BY d.decision DESC, d.row_id;

-- name: add_override
INSERT INTO dedup_overrides (target, row_id, actor) VALUES ($target, $row_id, $actor)
ON CONFLICT (target, row_id) DO UPDATE SET actor = excluded.actor, created_at = now();

-- name: clear_overrides
DELETE FROM dedup_overrides WHERE target = $target AND row_id IN (SELECT unnest($ids::BIGINT[]));

-- name: update_decision
UPDATE dedup_decisions SET decision = $decision, duplicate_of = $duplicate_of, jaccard = $jaccard, rule = $rule
WHERE run_id = $run_id AND target = $target AND row_id = $row_id;

-- name: row_info_documents
SELECT id, origin, n_chars, left(text, 160) AS preview FROM documents
WHERE id IN (SELECT unnest($ids::BIGINT[])) ORDER BY id;

-- name: row_info_examples
SELECT id, origin, length(array_to_string(json_extract_string(messages, '$[*].content'), chr(10))) AS n_chars,
       left(array_to_string(json_extract_string(messages, '$[*].content'), ' | '), 160) AS preview
FROM examples WHERE id IN (SELECT unnest($ids::BIGINT[])) ORDER BY id;

-- name: signatures_of
SELECT row_id, hashvalues FROM signatures
WHERE target = $target AND params_key = $params_key AND n_shingles > 0 AND row_id IN (SELECT unnest($ids::BIGINT[]))
ORDER BY row_id;

-- name: latest_decisions
SELECT d.cluster_id, d.row_id, d.decision, d.duplicate_of, d.jaccard, d.rule
FROM dedup_decisions d
WHERE d.target = $target AND d.run_id = (SELECT max(id) FROM dedup_runs WHERE target = $target)
ORDER BY d.cluster_id, d.decision DESC, d.row_id
LIMIT $limit;

-- name: file_copies_documents
-- Byte-identical copies of the files rows came from, recorded by ingest (file_copies).
SELECT d.id AS row_id, c.path, f.path AS kept_path, c.batch_id
FROM documents d JOIN files f ON f.id = d.file_id JOIN file_copies c ON c.kept_file_id = f.id
WHERE d.id IN (SELECT unnest($ids::BIGINT[])) ORDER BY d.id, c.id;

-- name: file_copies_examples
SELECT e.id AS row_id, c.path, f.path AS kept_path, c.batch_id
FROM examples e JOIN files f ON f.id = e.file_id JOIN file_copies c ON c.kept_file_id = f.id
WHERE e.id IN (SELECT unnest($ids::BIGINT[])) ORDER BY e.id, c.id;
