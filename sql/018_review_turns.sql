-- Every trained turn under review, and one definition of a verdict's outcome.
--
-- review_tasks.turns: the turns the task showed in editable boxes, in order, as
--   [{"message": <index in examples.messages>, "text": <the text shown>}]. NULL for tasks pushed
--   before this migration: those showed only the last assistant message.
-- reviews.edited_turns: the reviewer's text for each of those boxes, in the same order.
-- reviews.skipped: the reviewer pressed Skip (Label Studio's cancelled annotation): no verdict.
-- reviews.outcome: what the answer did (annotation/outcomes.py `effective`, computed when the row
--   is recorded): an accept whose text changed is an edit, an edit that changed nothing is an
--   accept, a skip is 'skip'. Every verdict count reads this column, never `verdict` (the button).
-- review_outcomes.final_turns: the text that counts for each reviewed turn, same order.

ALTER TABLE review_tasks ADD COLUMN turns JSON;
ALTER TABLE reviews ADD COLUMN edited_turns JSON;
ALTER TABLE reviews ADD COLUMN skipped BOOLEAN DEFAULT false;
ALTER TABLE reviews ADD COLUMN outcome VARCHAR;
ALTER TABLE review_outcomes ADD COLUMN final_turns JSON;

UPDATE reviews SET skipped = false WHERE skipped IS NULL;
-- Rows recorded before: the rule of outcomes.effective over the one box those tasks had.
UPDATE reviews SET outcome = CASE
    WHEN reviews.verdict = 'accept' AND reviews.edited_response IS NOT NULL
         AND trim(reviews.edited_response) <> trim(t.draft) THEN 'edit'
    WHEN reviews.verdict = 'edit' AND (reviews.edited_response IS NULL
         OR trim(reviews.edited_response) = trim(t.draft)) THEN 'accept'
    ELSE reviews.verdict END
FROM review_tasks t WHERE t.ls_task_id = reviews.ls_task_id;

-- The view is rebuilt so it carries the new columns.
CREATE OR REPLACE VIEW current_reviews AS
SELECT r.*, p.role AS project_role, coalesce(u.email, r.reviewer) AS reviewer_name
FROM (SELECT *, row_number() OVER (PARTITION BY ls_annotation_id ORDER BY id DESC) AS rn FROM reviews) r
LEFT JOIN review_projects p ON p.ls_project_id = r.ls_project_id
LEFT JOIN review_users u ON u.ls_user_id = r.ls_user_id
WHERE r.rn = 1 AND r.event <> 'deleted';
