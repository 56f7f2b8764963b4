-- Where each example stands after the latest near-duplicate run, as views every later step reads
-- (review push, versions, stats) so "is it a duplicate, which cluster" has one answer. Rows that
-- no run put in a cluster are their own cluster. Also: PII findings on generated outputs, stored
-- on the example for the reviewer.

ALTER TABLE examples ADD COLUMN pii_findings JSON;

CREATE VIEW example_dedup AS
WITH latest AS (SELECT max(id) AS run_id FROM dedup_runs WHERE target = 'example')
SELECT e.id AS example_id,
       coalesce(d.cluster_id, e.id) AS cluster_id,
       coalesce(d.decision = 'duplicate', false) AS is_duplicate,
       d.duplicate_of
FROM examples e
LEFT JOIN dedup_decisions d
       ON d.target = 'example' AND d.row_id = e.id AND d.run_id = (SELECT run_id FROM latest);

-- Which generation run paid for a cached response, so an interrupted run's totals can be
-- recomputed from what it actually paid.
ALTER TABLE llm_cache ADD COLUMN run_id BIGINT;
