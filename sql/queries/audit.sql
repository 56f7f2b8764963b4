-- name: record
INSERT INTO audit_log (actor, action, target, details) VALUES ($actor, $action, $target, $details);

-- name: recent
SELECT id, occurred_at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT $limit;

-- name: record_many
-- One insert for many audit rows staged as an Arrow table (actor, action, target, details), in order.
INSERT INTO audit_log (actor, action, target, details)
SELECT actor, action, target, details FROM staged_audit ORDER BY ordinal;
