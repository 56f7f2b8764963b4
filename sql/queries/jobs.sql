-- name: insert
INSERT INTO jobs (kind, params, actor) VALUES ($kind, $params, $actor) RETURNING id, created_at;

-- name: started
UPDATE jobs SET status = 'running', started_at = now() WHERE id = $id;

-- name: finished
UPDATE jobs SET status = $status, finished_at = now(), result = $result, error = $error, log_tail = $log_tail,
       progress_done = $done, progress_total = $total, progress_unit = $unit
WHERE id = $id;

-- name: get
SELECT id, kind, params, actor, status, progress_done, progress_total, progress_unit, created_at, started_at,
       finished_at, result, error, log_tail
FROM jobs WHERE id = $id;

-- name: recent
SELECT id, kind, params, actor, status, progress_done, progress_total, progress_unit, created_at, started_at,
       finished_at, result, error, log_tail
FROM jobs WHERE ($status IS NULL OR status = $status) ORDER BY id DESC LIMIT $limit;

-- name: orphaned
-- Jobs left queued or running by a service that stopped without finishing them.
UPDATE jobs SET status = 'failed', finished_at = now(),
       error = json_object('type', 'ServiceStopped', 'status', 500,
                           'detail', CASE status WHEN 'running'
                               THEN 'the service stopped while this job ran (killed or crashed); its transaction was rolled back: run the same operation again to finish the work'
                               ELSE 'the service stopped before this job started; submit it again' END)
WHERE status IN ('queued', 'running')
RETURNING id;
