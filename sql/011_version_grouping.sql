-- How a version was grouped: the n-gram overlap setting (n, fields, boilerplate share/count) and
-- --group-by expression the splitter used, which approval's leakage check reuses, and the create
-- report (groups, largest groups, requested vs achieved shares). Covered by content_hash when set;
-- NULL for versions cut before grouping by overlap (their check: response 13-grams, no boilerplate).
ALTER TABLE dataset_versions ADD COLUMN grouping JSON;
