-- Statistics v0 for data stewards; shared by `curator stats` and GET /stats.

-- name: totals
SELECT
    (SELECT count(*) FROM sources)            AS sources,
    (SELECT count(*) FROM files)              AS files,
    (SELECT count(*) FROM documents)          AS documents,
    (SELECT count(*) FROM examples)           AS examples,
    (SELECT count(*) FROM rejects)            AS rejects,
    (SELECT count(*) FROM ingest_duplicates) + (SELECT count(*) FROM file_copies) AS duplicates_skipped;

-- name: documents_by_kind
SELECT kind, count(*) AS n FROM documents GROUP BY kind ORDER BY n DESC, kind;

-- name: examples_by_kind_status
SELECT kind, status, count(*) AS n FROM examples GROUP BY kind, status ORDER BY kind, status;

-- name: rejects_by_reason
SELECT code, count(*) AS n FROM rejects GROUP BY code ORDER BY n DESC, code;

-- name: duplicates_by_target
SELECT target, count(*) AS n FROM (SELECT target FROM ingest_duplicates UNION ALL SELECT 'file' FROM file_copies)
GROUP BY target ORDER BY target;

-- name: by_source
SELECT s.name AS source,
       (SELECT count(*) FROM files f WHERE f.source_id = s.id)     AS files,
       (SELECT count(*) FROM documents d WHERE d.source_id = s.id) AS documents,
       (SELECT count(*) FROM examples e WHERE e.source_id = s.id)  AS examples,
       (SELECT count(*) FROM rejects r WHERE r.source_id = s.id)   AS rejects
FROM sources s ORDER BY s.name;

-- name: sources
SELECT s.id, s.name, s.created_at,
       count(f.id) AS files, coalesce(sum(f.documents), 0) AS documents,
       coalesce(sum(f.examples), 0) AS examples, coalesce(sum(f.rejects), 0) AS rejects
FROM sources s LEFT JOIN files f ON f.source_id = s.id
GROUP BY s.id, s.name, s.created_at ORDER BY s.id;

-- name: near_duplicates
SELECT r.target, r.id AS run_id, r.params_key,
       count(*) FILTER (WHERE d.decision = 'duplicate') AS marked_duplicate,
       count(DISTINCT d.cluster_id) AS clusters
FROM dedup_runs r LEFT JOIN dedup_decisions d ON d.run_id = r.id
WHERE r.id IN (SELECT max(id) FROM dedup_runs GROUP BY target)
GROUP BY r.target, r.id, r.params_key ORDER BY r.target;

-- ---------------------------------------------------------------------------------------------
-- Stewards' report (issue 6). Store scope reads live tables; version scope reads a version's
-- frozen items. Length queries read the caches filled by curator/lengths.py.

-- name: examples_by_source_kind_status
WITH c AS (SELECT source_id, kind, status, count(*) AS n FROM examples GROUP BY ALL)
SELECT s.name AS source, c.kind, c.status, c.n FROM c JOIN sources s ON s.id = c.source_id
ORDER BY s.name, c.kind, c.status;

-- name: version_items_by_source_kind_split
WITH c AS (SELECT e.source_id, e.kind, i.split, count(*) AS n
           FROM dataset_items i JOIN examples e ON e.id = i.example_id
           WHERE i.version_id = $version_id GROUP BY ALL)
SELECT s.name AS source, c.kind, c.split, c.n FROM c JOIN sources s ON s.id = c.source_id
ORDER BY s.name, c.kind, c.split;

-- name: versions
SELECT v.id, v.name, v.number, v.status, v.parent_id, v.created_by, v.created_at, v.approved_by,
       v.approved_at, v.content_hash, v.seed, v.split_spec, v.counts
FROM dataset_versions v ORDER BY v.name, v.number;

-- name: lengths_fresh
SELECT (SELECT count(*) FROM examples) AS examples,
       (SELECT coalesce(max(id), 0) FROM examples) AS max_id,
       (SELECT count(*) FROM example_lengths WHERE tokenizer = $tokenizer) AS cached,
       (SELECT coalesce(max(example_id), 0) FROM example_lengths WHERE tokenizer = $tokenizer) AS cached_max_id;

-- name: examples_missing_lengths
SELECT e.id, e.messages FROM examples e
ANTI JOIN (SELECT example_id FROM example_lengths WHERE tokenizer = $tokenizer) l ON l.example_id = e.id
ORDER BY e.id;

-- Character counts need no tokenizer: computed in one vectorised statement.
-- name: fill_example_char_lengths
INSERT INTO example_lengths
WITH missing AS (
    SELECT e.id, json_extract_string(e.messages, '$[*].content') AS cs, json_extract_string(e.messages, '$[*].role') AS rs
    FROM examples e
    ANTI JOIN (SELECT example_id FROM example_lengths WHERE tokenizer = 'chars') l ON l.example_id = e.id)
SELECT 'chars', id, role_chars(cs, rs, 'system'), role_chars(cs, rs, 'user'), role_chars(cs, rs, 'assistant'),
       role_chars(cs, rs, NULL)
FROM missing;

-- name: version_items_missing_lengths
SELECT i.example_id AS id, i.messages FROM dataset_items i
ANTI JOIN (SELECT example_id FROM item_lengths WHERE tokenizer = $tokenizer AND version_id = $version_id) l
     ON l.example_id = i.example_id
WHERE i.version_id = $version_id ORDER BY i.example_id;

-- name: fill_item_char_lengths
INSERT INTO item_lengths
WITH missing AS (
    SELECT i.example_id AS id, json_extract_string(i.messages, '$[*].content') AS cs,
           json_extract_string(i.messages, '$[*].role') AS rs
    FROM dataset_items i
    ANTI JOIN (SELECT example_id FROM item_lengths WHERE tokenizer = 'chars' AND version_id = $version_id) l
         ON l.example_id = i.example_id
    WHERE i.version_id = $version_id)
SELECT 'chars', $version_id, id, role_chars(cs, rs, 'system'), role_chars(cs, rs, 'user'),
       role_chars(cs, rs, 'assistant'), role_chars(cs, rs, NULL)
FROM missing;

-- Lengths in power-of-two bins: bin 0 holds 0-31, bin k holds [2^(k+4), 2^(k+5)), bin 10 holds
-- 16384 and more (macro len_bin, sql/009_stats.sql). Roles absent from an example (length 0) are
-- left out of that role's histogram. The aggregate reads a relation `l(system, "user", assistant,
-- total)`: stats.py puts one of the `*length_rows*` queries below in front of it as `WITH l AS (...)`.
-- name: length_aggregate
SELECT count(*) AS examples,
       count(*) FILTER (WHERE total > $max_seq_len) AS over_max_seq_len,
       histogram(len_bin(system)) FILTER (WHERE system > 0) AS system_bins,
       histogram(len_bin("user")) FILTER (WHERE "user" > 0) AS user_bins,
       histogram(len_bin(assistant)) FILTER (WHERE assistant > 0) AS assistant_bins,
       histogram(len_bin(total)) AS total_bins,
       quantile_disc(system, [0.5, 0.9, 0.99]) FILTER (WHERE system > 0) AS system_q,
       quantile_disc("user", [0.5, 0.9, 0.99]) FILTER (WHERE "user" > 0) AS user_q,
       quantile_disc(assistant, [0.5, 0.9, 0.99]) FILTER (WHERE assistant > 0) AS assistant_q,
       quantile_disc(total, [0.5, 0.9, 0.99]) AS total_q,
       max(system) AS system_max, max("user") AS user_max, max(assistant) AS assistant_max, max(total) AS total_max
FROM l;

-- name: length_rows
SELECT system, "user", assistant, total FROM example_lengths WHERE tokenizer = $tokenizer;

-- name: version_length_rows
SELECT system, "user", assistant, total FROM item_lengths WHERE tokenizer = $tokenizer AND version_id = $version_id;

-- name: length_rows_uncached
-- Character lengths recomputed from the messages JSON on every call, no cache: the cross-check
-- of the cached path (CURATOR_STATS_CACHE=false) and the baseline of bench/stats.py.
SELECT role_chars(cs, rs, 'system') AS system, role_chars(cs, rs, 'user') AS "user",
       role_chars(cs, rs, 'assistant') AS assistant, role_chars(cs, rs, NULL) AS total
FROM (SELECT json_extract_string(messages, '$[*].content') AS cs, json_extract_string(messages, '$[*].role') AS rs
      FROM examples);

-- name: version_length_rows_uncached
SELECT role_chars(cs, rs, 'system') AS system, role_chars(cs, rs, 'user') AS "user",
       role_chars(cs, rs, 'assistant') AS assistant, role_chars(cs, rs, NULL) AS total
FROM (SELECT json_extract_string(messages, '$[*].content') AS cs, json_extract_string(messages, '$[*].role') AS rs
      FROM dataset_items WHERE version_id = $version_id);

-- name: outcomes
-- Per example, the verdict that counts. Reviewer counts, rejection reasons and agreement pairs are
-- in sql/queries/review_counts.sql, the one definition shared with `curator review status`.
SELECT verdict, source, count(*) AS n FROM review_outcomes GROUP BY ALL ORDER BY verdict, source;

-- Rejected examples for the steward's list, newest rejection first: per example the reason codes,
-- comments and reviewers of the current answers whose outcome rejected it, and the Label Studio
-- task of the newest of them (NULL for an example rejected without a recorded answer).
-- name: rejected_examples
WITH rej AS (
    SELECT example_id,
           list_sort(list_distinct(flatten(list(from_json(reasons, '["VARCHAR"]'))))) AS reasons,
           list(comment ORDER BY id) FILTER (WHERE nullif(trim(comment), '') IS NOT NULL) AS comments,
           list_sort(list_distinct(list(reviewer_name))) AS reviewers,
           max(coalesce(annotation_updated_at, annotation_created_at, recorded_at)) AS rejected_at,
           arg_max(ls_project_id, id) AS ls_project_id, arg_max(ls_task_id, id) AS ls_task_id
    FROM current_reviews WHERE outcome = 'reject' GROUP BY example_id)
SELECT e.id AS example_id, s.name AS source, e.kind, o.source AS decided_by, r.reasons, r.comments,
       r.reviewers, r.rejected_at, r.ls_project_id, r.ls_task_id
FROM examples e JOIN sources s ON s.id = e.source_id
LEFT JOIN review_outcomes o ON o.example_id = e.id
LEFT JOIN rej r ON r.example_id = e.id
WHERE e.status = 'rejected'
ORDER BY r.rejected_at DESC NULLS LAST, e.id DESC
LIMIT $limit OFFSET $offset;

-- name: rejected_count
SELECT count(*) AS n FROM examples WHERE status = 'rejected';

-- name: funnel
-- Every bar counts examples (documents are counted in `counts`, not here): all examples, those
-- reviewed (a current answer with a verdict: a skip or a deleted answer is not a review), the
-- approved and the rejected of them, those in a version.
SELECT (SELECT count(*) FROM examples) AS examples,
       (SELECT count(DISTINCT example_id) FROM current_reviews WHERE outcome IN ('accept', 'edit', 'reject'))
           AS reviewed,
       (SELECT count(*) FROM examples WHERE status = 'approved') AS approved,
       (SELECT count(*) FROM examples WHERE status = 'rejected') AS rejected,
       (SELECT count(DISTINCT example_id) FROM dataset_items) AS in_version;

-- name: duplicates_removed
SELECT (SELECT count(*) FROM file_copies) AS exact_files,
       (SELECT count(*) FROM ingest_duplicates WHERE target = 'document') AS exact_documents,
       (SELECT count(*) FROM ingest_duplicates WHERE target = 'example') AS exact_examples,
       (SELECT count(*) FROM example_dedup WHERE is_duplicate) AS near_duplicate_examples,
       (SELECT count(*) FROM dedup_decisions
        WHERE decision = 'duplicate' AND target = 'document'
          AND run_id = (SELECT max(id) FROM dedup_runs WHERE target = 'document')) AS near_duplicate_documents;

-- name: generation_cost
SELECT count(*) AS runs, coalesce(sum(cost_usd), 0) AS cost_usd,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens
FROM generation_runs;

-- Cost of the generation runs behind a version's synthetic items: the runs' whole cost, and the
-- share attributed to the items (run cost × items from the run / examples the run made).
-- name: version_cost
WITH used AS (SELECT e.generation_run_id AS run_id, count(*) AS items
              FROM dataset_items i JOIN examples e ON e.id = i.example_id
              WHERE i.version_id = $version_id AND e.generation_run_id IS NOT NULL GROUP BY ALL),
made AS (SELECT generation_run_id AS run_id, count(*) AS n FROM examples
         WHERE generation_run_id IN (SELECT run_id FROM used) GROUP BY ALL)
SELECT count(g.id) AS runs, coalesce(sum(u.items), 0) AS synthetic_items,
       coalesce(sum(g.cost_usd), 0) AS runs_cost_usd,
       coalesce(sum(g.cost_usd * u.items / m.n), 0) AS attributed_cost_usd
FROM used u JOIN generation_runs g ON g.id = u.run_id JOIN made m ON m.run_id = u.run_id;

-- Approved examples a dedup run marked as duplicates: versions leave them out.
-- name: approved_duplicates
SELECT count(*) AS approved_duplicates FROM examples e JOIN example_dedup d ON d.example_id = e.id
WHERE e.status = 'approved' AND d.is_duplicate;

-- name: version_stats_get
SELECT stats FROM version_stats WHERE version_id = $version_id AND tokenizer = $tokenizer AND max_seq_len = $max_seq_len;

-- name: version_stats_put
INSERT INTO version_stats (version_id, tokenizer, max_seq_len, stats)
VALUES ($version_id, $tokenizer, $max_seq_len, $stats) ON CONFLICT DO NOTHING;

-- What the store-wide report depends on, cheaply: counts and highest ids of the tables it reads,
-- and the newest audit_log entry (reads such as sql.query do not count). Each is a metadata-sized
-- scan, a few milliseconds at a million examples.
-- name: fingerprint
SELECT concat_ws(':',
    (SELECT coalesce(max(id), 0) FROM audit_log WHERE action <> 'sql.query'),
    (SELECT count(*) FROM sources), (SELECT count(*) FROM files), (SELECT count(*) FROM documents),
    (SELECT count(*) FROM examples), (SELECT coalesce(max(id), 0) FROM examples),
    (SELECT count(*) FROM rejects), (SELECT count(*) FROM ingest_duplicates), (SELECT count(*) FROM file_copies),
    (SELECT count(*) FROM reviews), (SELECT coalesce(max(id), 0) FROM reviews),
    (SELECT count(*) || '/' || coalesce(max(decided_at)::VARCHAR, '') FROM review_outcomes),
    (SELECT coalesce(max(id), 0) FROM dedup_runs), (SELECT count(*) FROM dedup_decisions),
    (SELECT count(*) FROM dedup_overrides),
    (SELECT count(*) || '/' || coalesce(sum(cost_usd), 0) || '/' || coalesce(sum(requests), 0) FROM generation_runs),
    (SELECT count(*) || '/' || count(approved_at) || '/' || coalesce(max(id), 0) FROM dataset_versions),
    (SELECT count(*) FROM dataset_items)) AS fingerprint;

-- name: snapshot_get
SELECT fingerprint, report FROM stats_snapshots
WHERE scope = $scope AND tokenizer = $tokenizer AND max_seq_len = $max_seq_len;

-- name: snapshot_put
INSERT OR REPLACE INTO stats_snapshots (scope, tokenizer, max_seq_len, fingerprint, report)
VALUES ($scope, $tokenizer, $max_seq_len, $fingerprint, $report);

-- version_cost for every version at once (the versions table of the report and the page).
-- name: version_costs
WITH used AS (SELECT i.version_id, e.generation_run_id AS run_id, count(*) AS items
              FROM dataset_items i JOIN examples e ON e.id = i.example_id
              WHERE e.generation_run_id IS NOT NULL GROUP BY ALL),
made AS (SELECT generation_run_id AS run_id, count(*) AS n FROM examples
         WHERE generation_run_id IN (SELECT run_id FROM used) GROUP BY ALL)
SELECT u.version_id, count(*) AS runs, sum(u.items) AS synthetic_items, sum(g.cost_usd) AS runs_cost_usd,
       sum(g.cost_usd * u.items / m.n) AS attributed_cost_usd
FROM used u JOIN generation_runs g ON g.id = u.run_id JOIN made m ON m.run_id = u.run_id
GROUP BY u.version_id;
