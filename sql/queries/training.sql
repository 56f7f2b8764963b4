-- name: insert_run
INSERT INTO training_runs (version_id, version_ref, content_hash, export_dir, base_model, config, created_by)
VALUES ($version_id, $version_ref, $content_hash, $export_dir, $base_model, $config, $created_by)
RETURNING id;

-- name: set_started
UPDATE training_runs SET run_dir = $run_dir, pid = $pid, status = 'running', error = NULL, finished_at = NULL,
    started_at = coalesce(started_at, now())
WHERE id = $id;

-- name: set_state
UPDATE training_runs SET status = $status, stage = $stage, step = $step, max_steps = $max_steps, error = $error,
    preflight = coalesce($preflight, preflight), metrics = coalesce($metrics, metrics),
    finished_at = CASE WHEN $status IN ('succeeded', 'failed', 'cancelled') THEN coalesce(finished_at, now()) END
WHERE id = $id;

-- name: get_run
SELECT * FROM training_runs WHERE id = $id;

-- name: list_runs
SELECT id, version_ref, base_model, status, stage, step, max_steps, created_by, created_at, finished_at
FROM training_runs ORDER BY id DESC LIMIT $limit;

-- name: delete_eval
DELETE FROM eval_results WHERE run_id = $run_id;

-- name: delete_examples
DELETE FROM eval_examples WHERE run_id = $run_id;

-- name: insert_eval
INSERT INTO eval_results (run_id, model, split, metric, value, n) VALUES ($run_id, $model, $split, $metric, $value, $n);

-- name: insert_example
INSERT INTO eval_examples VALUES ($run_id, $idx, $prompt, $reference, $base_output, $tuned_output,
    $base_exact_match, $tuned_exact_match, $base_token_f1, $tuned_token_f1, $base_rouge_l, $tuned_rouge_l);

-- name: eval_for_run
SELECT model, split, metric, value, n FROM eval_results WHERE run_id = $run_id ORDER BY metric, model;

-- name: examples_for_run
-- The base vs fine-tuned table of a finished run: what the model judge compares.
SELECT idx, prompt, reference, base_output, tuned_output FROM eval_examples WHERE run_id = $run_id ORDER BY idx;

-- name: delete_judge
DELETE FROM eval_results WHERE run_id = $run_id AND metric LIKE 'judge\_%' ESCAPE '\';
