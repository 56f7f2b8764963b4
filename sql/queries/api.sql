-- Queries of the HTTP service (curator/api/).

-- name: ping
SELECT 1;

-- name: upload_files_kept
-- Files under one upload directory that something was kept from (a document, an example or a
-- duplicate of one), and byte-identical copies of those: the rest of the upload is deleted.
SELECT path FROM files WHERE starts_with(path, $dir) AND documents + examples + duplicates > 0
UNION SELECT path FROM file_copies WHERE starts_with(path, $dir);
