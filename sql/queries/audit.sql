-- name: record
INSERT INTO audit_log (actor, action, target, details) VALUES ($actor, $action, $target, $details);

-- name: recent
SELECT id, occurred_at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT $limit;
