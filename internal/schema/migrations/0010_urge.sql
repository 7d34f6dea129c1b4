-- 督办 with a date by which the lead unit must respond: the case keeps the
-- date until the unit acts; a timer escalates when it passes unanswered.
ALTER TABLE cases ADD COLUMN urge_due timestamptz;
