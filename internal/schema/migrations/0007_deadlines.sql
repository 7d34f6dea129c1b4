-- Deadlines that act: one timer per case and kind (80% warning, 100%
-- overdue, escalation after the grace, callback due), rewritten in the
-- transaction of every step that moves a deadline, fired by any node with
-- FOR UPDATE SKIP LOCKED; and the deadline policy as versioned data.

CREATE TABLE case_timers (
    case_id     uuid NOT NULL REFERENCES cases(id),
    county_code text NOT NULL DEFAULT '',
    kind        text NOT NULL,
    fire_at     timestamptz NOT NULL,
    fired_at    timestamptz,
    PRIMARY KEY (case_id, kind)
);
CREATE INDEX case_timers_due ON case_timers (fire_at) WHERE fired_at IS NULL;

ALTER TABLE cases ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0;

CREATE TABLE deadline_policies (
    version      integer PRIMARY KEY,
    status       text NOT NULL CHECK (status IN ('draft','active','retired')),
    rules        jsonb NOT NULL,
    note         text NOT NULL DEFAULT '',
    author       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
CREATE UNIQUE INDEX deadline_policies_one_active ON deadline_policies ((true)) WHERE status = 'active';
