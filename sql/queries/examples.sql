-- Examples as reviewers and stewards browse them.

-- name: page
SELECT e.id, e.kind, e.status, e.origin, e.messages, e.document_id, e.span_start, e.span_end,
       e.generation_run_id, e.pii_findings, x.cluster_id, x.is_duplicate, x.duplicate_of, e.created_at
FROM examples e JOIN example_dedup x ON x.example_id = e.id
WHERE ($status IS NULL OR e.status = $status) AND ($kind IS NULL OR e.kind = $kind)
  AND e.id > $after
ORDER BY e.id
LIMIT $limit;

-- name: one
SELECT e.id, e.kind, e.status, e.origin, e.messages, e.document_id, e.span_start, e.span_end,
       e.generation_run_id, e.pii_findings, x.cluster_id, x.is_duplicate, x.duplicate_of, e.created_at,
       e.metadata, e.warnings,
       CASE WHEN e.span_start IS NOT NULL THEN substr(d.text, e.span_start + 1, e.span_end - e.span_start) END
           AS evidence
FROM examples e JOIN example_dedup x ON x.example_id = e.id LEFT JOIN documents d ON d.id = e.document_id
WHERE e.id = $id;
