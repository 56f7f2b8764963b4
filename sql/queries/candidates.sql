-- Candidate extraction: transcripts in, extracted examples out. The anti-join on content_hash
-- makes a re-run insert nothing new.

-- name: transcripts
SELECT id, source_id, file_id, origin, text, turns, metadata
FROM documents
WHERE kind = 'transcript' AND turns IS NOT NULL
ORDER BY id
LIMIT $limit;

-- name: insert_staged
INSERT INTO examples (source_id, file_id, origin, kind, source_format, messages, content_hash, document_id,
                      span_start, span_end, status, warnings, metadata)
SELECT source_id, file_id, origin, 'extracted', $recipe, messages::JSON, content_hash, document_id,
       span_start, span_end, 'candidate', '[]'::JSON, metadata::JSON
FROM staged_candidates s
WHERE NOT EXISTS (SELECT 1 FROM staged_candidates f WHERE f.content_hash = s.content_hash AND f.pos < s.pos)
  AND NOT EXISTS (SELECT 1 FROM examples e WHERE e.content_hash = s.content_hash)
ORDER BY s.pos;

-- name: count_extracted
SELECT count(*) AS n FROM examples WHERE kind = 'extracted';
