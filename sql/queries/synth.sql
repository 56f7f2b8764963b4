-- Synthesis from stored documents: pending documents in, synthetic examples and failures out.

-- name: pending_documents
SELECT d.id, d.source_id, d.file_id, d.origin, d.text
FROM documents d
WHERE d.kind = 'document'
  AND NOT EXISTS (SELECT 1 FROM synthesis_documents s
                  WHERE s.document_id = d.id AND s.template_hash = $template_hash)
ORDER BY d.id
LIMIT $limit;

-- name: insert_example
INSERT INTO examples (source_id, file_id, origin, kind, source_format, messages, content_hash, document_id,
                      span_start, span_end, status, warnings, metadata, generation_run_id, pii_findings)
SELECT $source_id, $file_id, $origin, 'synthetic', $template, $messages::JSON, $content_hash, $document_id,
       $span_start, $span_end, 'candidate', '[]'::JSON, $metadata::JSON, $run_id, $pii_findings::JSON
WHERE NOT EXISTS (SELECT 1 FROM examples e WHERE e.content_hash = $content_hash)
RETURNING id;

-- name: insert_failure
INSERT INTO generation_failures (run_id, document_id, chunk_index, template_hash, code, reason, payload_hash)
VALUES ($run_id, $document_id, $chunk_index, $template_hash, $code, $reason, $payload_hash);

-- name: mark_done
INSERT OR IGNORE INTO synthesis_documents (document_id, template_hash, run_id)
VALUES ($document_id, $template_hash, $run_id);

-- name: failures
SELECT run_id, document_id, chunk_index, template_hash, code, reason, payload_hash
FROM generation_failures
ORDER BY id;

-- name: count_synthetic
SELECT count(*) AS n FROM examples WHERE kind = 'synthetic';

-- name: approved_seeds
SELECT id, messages FROM examples
WHERE status = 'approved' AND kind = 'synthetic' AND source_format = $template
ORDER BY id
LIMIT $limit;

-- name: count_duplicates_among
SELECT count(*) AS n FROM example_dedup
WHERE is_duplicate AND example_id IN (SELECT unnest($ids::BIGINT[]));
