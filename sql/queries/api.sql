-- Queries of the HTTP service (curator/api/).

-- name: ping
SELECT 1;
