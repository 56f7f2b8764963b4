-- The facts a version's dataset card states (curator/versions/card.py), each scoped to the items
-- of one version ($version_id). Review counts read `outcome`, never `verdict` (the button):
-- sql/018_review_turns.sql.

-- name: by_source
SELECT s.name AS source, t.license, t.language, i.split, count(*) AS n
FROM dataset_items i JOIN examples e ON e.id = i.example_id JOIN sources s ON s.id = e.source_id
LEFT JOIN source_terms t ON t.source_id = s.id
WHERE i.version_id = $version_id
GROUP BY ALL ORDER BY source, split;

-- name: by_method
-- How each example was made: extraction recipe, synthesis template and model, or import shape.
SELECT e.kind,
       CASE e.kind WHEN 'extracted' THEN e.metadata->>'recipe' WHEN 'synthetic' THEN e.metadata->>'template'
                   ELSE e.source_format END AS method,
       g.model, i.split, count(*) AS n
FROM dataset_items i JOIN examples e ON e.id = i.example_id
LEFT JOIN generation_runs g ON g.id = e.generation_run_id
WHERE i.version_id = $version_id
GROUP BY ALL ORDER BY e.kind, method, g.model NULLS FIRST, i.split;

-- name: approval
-- How each item was approved: a review outcome, an auto-accept policy (outside its audit
-- sample), or neither (approved by hand); and what review did to it.
WITH items AS (SELECT example_id FROM dataset_items WHERE version_id = $version_id)
SELECT count(*) AS items,
       count(*) FILTER (WHERE o.example_id IS NOT NULL) AS reviewed,
       count(*) FILTER (WHERE o.verdict = 'accept') AS accepted,
       count(*) FILTER (WHERE o.verdict = 'edit') AS edited,
       count(*) FILTER (WHERE o.source = 'adjudication') AS adjudicated,
       count(*) FILTER (WHERE o.example_id IS NULL AND a.example_id IS NOT NULL AND NOT a.audit) AS auto_accepted,
       count(*) FILTER (WHERE o.example_id IS NULL AND a.example_id IS NULL) AS unrecorded
FROM items i
LEFT JOIN review_outcomes o ON o.example_id = i.example_id
LEFT JOIN example_auto_accept a ON a.example_id = i.example_id;

-- name: answers
-- Every current answer on the version's examples, by outcome; reviewers counted, not named.
SELECT outcome, count(*) AS n, count(DISTINCT reviewer_name) AS reviewers,
       count(*) FILTER (WHERE is_adjudication) AS adjudications
FROM current_reviews
WHERE example_id IN (SELECT example_id FROM dataset_items WHERE version_id = $version_id)
GROUP BY ALL ORDER BY outcome;

-- name: reviewers
SELECT count(DISTINCT reviewer_name) AS n
FROM current_reviews
WHERE outcome IN ('accept', 'edit', 'reject')
  AND example_id IN (SELECT example_id FROM dataset_items WHERE version_id = $version_id);

-- name: agreement_matrix
-- Pairs of current, non-adjudication outcomes by two reviewers on one example of the version.
WITH cur AS (SELECT example_id, reviewer_name AS reviewer, outcome FROM current_reviews
             WHERE NOT is_adjudication AND outcome IN ('accept', 'edit', 'reject')
               AND example_id IN (SELECT example_id FROM dataset_items WHERE version_id = $version_id))
SELECT a.outcome AS a, b.outcome AS b, count(*) AS n
FROM cur a JOIN cur b ON a.example_id = b.example_id AND a.reviewer < b.reviewer
GROUP BY ALL ORDER BY a, b;

-- name: auto_accept_policies
-- The policies behind the version's auto-accepted items, with their whole audit sample's result.
SELECT p.id, p.source, p.template, p.model, p.threshold, p.target, p.precision_lower, p.reviewed, p.audit_share,
       p.enabled, count(DISTINCT i.example_id) AS in_version,
       (SELECT count(*) FROM example_auto_accept x JOIN review_outcomes o ON o.example_id = x.example_id
        WHERE x.policy_id = p.id AND x.audit AND o.verdict <> 'disputed') AS audit_reviewed,
       (SELECT count(*) FROM example_auto_accept x JOIN review_outcomes o ON o.example_id = x.example_id
        WHERE x.policy_id = p.id AND x.audit AND o.verdict = 'accept') AS audit_accepted
FROM dataset_items i
JOIN example_auto_accept a ON a.example_id = i.example_id AND NOT a.audit
JOIN auto_accept_policies p ON p.id = a.policy_id
WHERE i.version_id = $version_id AND i.example_id NOT IN (SELECT example_id FROM review_outcomes)
GROUP BY ALL ORDER BY p.id;

-- name: dedup_run
SELECT params, counts, engine,
       (SELECT count(*) FROM dedup_decisions WHERE run_id = $run_id AND decision = 'duplicate') AS marked
FROM dedup_runs WHERE id = $run_id;

-- name: exact_duplicates
-- Exact copies skipped at ingest in the files of the version's sources.
SELECT d.target, count(*) AS n
FROM ingest_duplicates d JOIN files f ON f.id = d.file_id
WHERE f.source_id IN (SELECT DISTINCT e.source_id FROM dataset_items i JOIN examples e ON e.id = i.example_id
                      WHERE i.version_id = $version_id)
GROUP BY ALL ORDER BY d.target;

-- name: pii
-- The PII found in text sent for synthesis (metadata.pii: handled by the run's policy) and in the
-- stored messages (pii_findings; NULL: never scanned), per item.
SELECT e.kind, e.generation_run_id AS run_id, e.metadata->'pii' AS sent, e.pii_findings AS stored
FROM dataset_items i JOIN examples e ON e.id = i.example_id
WHERE i.version_id = $version_id
ORDER BY i.example_id;

-- name: pii_policies
-- The PII policy each synthesis run ran under, as its audit entry recorded it.
SELECT DISTINCT details->'options'->>'pii_policy' AS policy
FROM audit_log
WHERE action = 'candidates.synthesize'
  AND TRY_CAST(details->>'run_id' AS BIGINT) IN (SELECT unnest($run_ids::BIGINT[]))
ORDER BY policy;

-- name: pii_blocked
-- Chunks the policy kept from the provider in the version's synthesis runs.
SELECT count(*) AS n FROM generation_failures
WHERE code = 'pii_blocked' AND run_id IN (SELECT unnest($run_ids::BIGINT[]));

-- name: describe_source
INSERT INTO source_terms (source_id, license, language)
SELECT id, $license, $language FROM sources WHERE name = $name
ON CONFLICT (source_id) DO UPDATE SET license = coalesce(excluded.license, source_terms.license),
                                      language = coalesce(excluded.language, source_terms.language)
RETURNING license, language;
