-- name: insert
INSERT INTO api_keys (name, role, key_hash, prefix) VALUES ($name, $role, $key_hash, $prefix) RETURNING id;

-- name: by_hash
SELECT id, name, role FROM api_keys WHERE key_hash = $key_hash AND revoked_at IS NULL;

-- name: by_name
SELECT id FROM api_keys WHERE name = $name;

-- name: list
SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys ORDER BY id;

-- name: revoke
UPDATE api_keys SET revoked_at = now() WHERE name = $name AND revoked_at IS NULL RETURNING id;

-- name: by_id
SELECT id, name, role, key_hash FROM api_keys WHERE id = $id AND revoked_at IS NULL;
