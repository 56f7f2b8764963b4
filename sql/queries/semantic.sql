-- Semantic near-duplicates: the embedding cache, runs, pairs and decisions (sql/020_semantic.sql).

-- name: cached_embeddings
SELECT c.text_hash, c.vector FROM embeddings c
WHERE c.model = $model AND c.text_hash IN (SELECT unnest($hashes::VARCHAR[]));

-- name: insert_embeddings
INSERT INTO embeddings (model, text_hash, dim, vector)
SELECT $model, text_hash, dim, vector FROM staged_embeddings ON CONFLICT DO NOTHING;

-- name: texts_documents
SELECT d.id, d.text FROM documents d ORDER BY d.id;

-- name: texts_examples
SELECT e.id, array_to_string(json_extract_string(e.messages, '$[*].content'), chr(10)) AS text
FROM examples e ORDER BY e.id;

-- name: insert_run
INSERT INTO semantic_runs (target, model, params, actor, counts)
VALUES ($target, $model, $params, $actor, $counts) RETURNING id;

-- name: insert_pairs
INSERT INTO semantic_pairs (run_id, a_id, b_id, cosine) SELECT $run_id, a_id, b_id, cosine FROM staged_pairs;

-- name: insert_decisions
INSERT INTO semantic_decisions (run_id, target, row_id, cluster_id, decision, duplicate_of, cosine, rule)
SELECT $run_id, $target, row_id, cluster_id, decision, duplicate_of, cosine, rule FROM staged_decisions;

-- name: latest_run
SELECT id, model, params FROM semantic_runs WHERE target = $target ORDER BY id DESC LIMIT 1;

-- name: cluster_of
SELECT d.row_id, d.cluster_id, d.decision, d.duplicate_of, d.cosine, d.rule
FROM semantic_decisions d
WHERE d.run_id = $run_id AND d.target = $target
  AND d.cluster_id = (SELECT cluster_id FROM semantic_decisions WHERE run_id = $run_id AND target = $target
                      AND row_id = $row_id)
ORDER BY d.decision DESC, d.row_id;

-- name: pairs_among
SELECT a_id, b_id, cosine FROM semantic_pairs
WHERE run_id = $run_id AND a_id IN (SELECT unnest($ids::BIGINT[])) AND b_id IN (SELECT unnest($ids::BIGINT[]))
ORDER BY a_id, b_id;

-- name: update_decision
UPDATE semantic_decisions SET decision = $decision, duplicate_of = $duplicate_of, cosine = $cosine, rule = $rule
WHERE run_id = $run_id AND target = $target AND row_id = $row_id;

-- Which method marked the examples: `stats` shows both beside the total.
-- name: duplicates_by_method
SELECT count(*) FILTER (WHERE is_duplicate) AS duplicates,
       count(*) FILTER (WHERE minhash_duplicate) AS minhash,
       count(*) FILTER (WHERE semantic_duplicate) AS semantic,
       count(*) FILTER (WHERE minhash_duplicate AND semantic_duplicate) AS both
FROM example_dedup;
