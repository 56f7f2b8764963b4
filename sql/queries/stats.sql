-- Statistics v0 for data stewards; shared by `curator stats` and GET /stats.

-- name: totals
SELECT
    (SELECT count(*) FROM sources)            AS sources,
    (SELECT count(*) FROM files)              AS files,
    (SELECT count(*) FROM documents)          AS documents,
    (SELECT count(*) FROM examples)           AS examples,
    (SELECT count(*) FROM rejects)            AS rejects,
    (SELECT count(*) FROM ingest_duplicates)  AS duplicates_skipped;

-- name: documents_by_kind
SELECT kind, count(*) AS n FROM documents GROUP BY kind ORDER BY n DESC, kind;

-- name: examples_by_kind_status
SELECT kind, status, count(*) AS n FROM examples GROUP BY kind, status ORDER BY kind, status;

-- name: rejects_by_reason
SELECT code, count(*) AS n FROM rejects GROUP BY code ORDER BY n DESC, code;

-- name: duplicates_by_target
SELECT target, count(*) AS n FROM ingest_duplicates GROUP BY target ORDER BY target;

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
