-- The model-calling layer: request cache and generation-run bookkeeping.

-- name: cache_get
SELECT response, prompt_tokens, completion_tokens, cost_usd
FROM llm_cache
WHERE payload_hash = $payload_hash;

-- name: cache_put
INSERT OR IGNORE INTO llm_cache (payload_hash, model, request, response, prompt_tokens, completion_tokens, cost_usd)
VALUES ($payload_hash, $model, $request::JSON, $response::JSON, $prompt_tokens, $completion_tokens, $cost_usd);

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
