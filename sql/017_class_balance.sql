-- Class balance (issue 18). `version create --stratify-by EXPR` records each item's class, so
-- `export --balance` and the stats read the same labels the splitter used; content_hash covers the
-- label when the version is stratified (NULL otherwise, and for versions cut before this).
ALTER TABLE dataset_items ADD COLUMN label VARCHAR;

-- version_candidates gains `response`: the last message's text as review left it (an edit
-- replaces it), so a class held in the assistant reply can be named (`--stratify-by response`).
-- The view of 007 is kept under another name and extended, not restated.
ALTER VIEW version_candidates RENAME TO version_candidates_007;
CREATE VIEW version_candidates AS
SELECT c.*, coalesce(CASE WHEN o.verdict = 'edit' THEN o.final_response END,
                     json_extract_string(e.messages, '$[#-1].content')) AS response
FROM version_candidates_007 c
JOIN examples e ON e.id = c.id
LEFT JOIN review_outcomes o ON o.example_id = c.id;
