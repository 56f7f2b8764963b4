-- The model-calling layer: request cache and generation-run bookkeeping.

-- name: cache_get
SELECT response, prompt_tokens, completion_tokens, cost_usd
FROM llm_cache
WHERE payload_hash = $payload_hash;

-- name: cache_put
INSERT OR IGNORE INTO llm_cache (payload_hash, model, request, response, prompt_tokens, completion_tokens, cost_usd,
                                 run_id)
VALUES ($payload_hash, $model, $request::JSON, $response::JSON, $prompt_tokens, $completion_tokens, $cost_usd,
        $run_id);

-- name: run_start
INSERT INTO generation_runs (base_url, model, template_hash, params)
VALUES ($base_url, $model, $template_hash, $params::JSON)
RETURNING id;

-- name: run_finish
UPDATE generation_runs
SET finished_at = now(), requests = $requests, cache_hits = $cache_hits, prompt_tokens = $prompt_tokens,
    completion_tokens = $completion_tokens, cost_usd = $cost_usd, status = $status
WHERE id = $id;

-- name: run_get
SELECT * FROM generation_runs WHERE id = $id;

-- name: cache_get_many
SELECT payload_hash, response, prompt_tokens, completion_tokens, cost_usd
FROM llm_cache
WHERE payload_hash IN (SELECT unnest($payload_hashes::VARCHAR[]));

-- name: close_interrupted
UPDATE generation_runs g
SET status = 'failed',
    finished_at = now(),
    requests = (SELECT count(*) FROM llm_cache c WHERE c.run_id = g.id),
    prompt_tokens = (SELECT coalesce(sum(prompt_tokens), 0) FROM llm_cache c WHERE c.run_id = g.id),
    completion_tokens = (SELECT coalesce(sum(completion_tokens), 0) FROM llm_cache c WHERE c.run_id = g.id),
    cost_usd = (SELECT coalesce(sum(cost_usd), 0) FROM llm_cache c WHERE c.run_id = g.id)
WHERE g.status = 'running';
