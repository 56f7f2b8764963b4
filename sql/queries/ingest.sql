-- Statements of the ingest writer. Staged rows come from a registered Arrow table; the
-- anti-join against what is stored makes exact-duplicate skipping set-based and re-runnable.

-- name: get_or_create_source
INSERT INTO sources (name) VALUES ($name) ON CONFLICT (name) DO NOTHING;

-- name: source_id
SELECT id FROM sources WHERE name = $name;

-- name: committed_files
SELECT source_id, sha256, path FROM files;

-- name: insert_file_copies
INSERT INTO file_copies (batch_id, kept_file_id, path, sha256, n_bytes)
SELECT $batch, $file, path, $sha256, $n_bytes FROM (SELECT unnest($paths::VARCHAR[]) AS path);

-- name: copies_of_file
-- Byte-identical copies of a file, recorded when the same batch met them.
SELECT c.path, f.path AS kept_path, c.batch_id FROM file_copies c JOIN files f ON f.id = c.kept_file_id
WHERE c.kept_file_id = $file ORDER BY c.id;

-- name: start_batch
INSERT INTO ingest_batches (actor, options) VALUES ($actor, $options) RETURNING id;

-- name: finish_batch
UPDATE ingest_batches SET finished_at = now(), counts = $counts WHERE id = $batch;

-- name: insert_file
INSERT INTO files (source_id, batch_id, path, sha256, n_bytes, format, documents, examples, duplicates, rejects)
VALUES ($source, $batch, $path, $sha256, $n_bytes, $format, 0, 0, 0, 0)
RETURNING id;

-- name: finish_file
UPDATE files SET documents = $documents, examples = $examples, duplicates = $duplicates, rejects = $rejects
WHERE id = $file;

-- name: insert_documents
INSERT INTO documents (source_id, batch_id, file_id, origin, kind, title, text, text_hash, n_chars, n_words, turns, metadata)
SELECT $source, $batch, $file, origin, kind, title, text, text_hash, n_chars, n_words, turns::JSON, metadata::JSON
FROM staged_documents s
WHERE NOT EXISTS (SELECT 1 FROM staged_documents e WHERE e.text_hash = s.text_hash AND e.pos < s.pos)
  AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.text_hash = s.text_hash)
ORDER BY s.pos;

-- name: insert_document_duplicates
INSERT INTO ingest_duplicates (batch_id, file_id, target, kept_id, origin, metadata)
SELECT $batch, $file, 'document', d.id, s.origin, s.metadata::JSON
FROM staged_documents s JOIN documents d ON d.text_hash = s.text_hash
WHERE NOT (d.file_id = $file AND d.origin = s.origin)
ORDER BY s.pos;

-- name: insert_examples
INSERT INTO examples (source_id, batch_id, file_id, origin, kind, source_format, messages, content_hash, warnings, metadata)
SELECT $source, $batch, $file, origin, 'imported', source_format, messages::JSON, content_hash, warnings::JSON, metadata::JSON
FROM staged_examples s
WHERE NOT EXISTS (SELECT 1 FROM staged_examples f WHERE f.content_hash = s.content_hash AND f.pos < s.pos)
  AND NOT EXISTS (SELECT 1 FROM examples e WHERE e.content_hash = s.content_hash)
ORDER BY s.pos;

-- name: insert_example_duplicates
INSERT INTO ingest_duplicates (batch_id, file_id, target, kept_id, origin, metadata)
SELECT $batch, $file, 'example', e.id, s.origin, s.metadata::JSON
FROM staged_examples s JOIN examples e ON e.content_hash = s.content_hash
WHERE NOT (e.file_id = $file AND e.origin = s.origin)
ORDER BY s.pos;

-- name: insert_rejects
INSERT INTO rejects (source_id, batch_id, file_id, origin, code, reason)
SELECT $source, $batch, $file, origin, code, reason FROM staged_rejects ORDER BY pos;

-- name: open_batches
SELECT id FROM ingest_batches WHERE finished_at IS NULL ORDER BY id;

-- name: close_interrupted
-- At service start no ingest can be running: a batch still open was cut off by a killed process.
-- (No RETURNING: DuckDB then refuses the update of a row other tables reference.)
UPDATE ingest_batches
SET finished_at = now(),
    counts = json_object('status', 'failed', 'error', 'interrupted: the process ended before the batch finished')
WHERE finished_at IS NULL;

-- name: upload_dirs_in_use
-- Upload directories (first path part under the uploads dir) that a stored file or copy points at.
SELECT DISTINCT split_part(substr(path, length($root) + 1), '/', 1) AS dir
FROM (SELECT path FROM files UNION ALL SELECT path FROM file_copies)
WHERE starts_with(path, $root);
