-- The live console: every event row carries the id of the transaction that
-- wrote it, so that each node can tail the trail in commit-safe order
-- (see console/tail.go), and presence of staff on cases.

ALTER TABLE case_events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX case_events_tx ON case_events (tx, id);

ALTER TABLE cti_screenpops ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX cti_screenpops_tx ON cti_screenpops (tx, id);

-- Who is online, and on which case, per connection; rows older than a
-- minute are stale (their node stopped without cleaning up).
CREATE TABLE console_presence (
    node       text NOT NULL,
    conn       text NOT NULL,
    user_id    uuid NOT NULL,
    username   text NOT NULL,
    name       text NOT NULL,
    role       text NOT NULL,
    unit_id    text NOT NULL DEFAULT '',
    case_id    uuid,
    editing    boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, conn)
);
CREATE INDEX console_presence_case ON console_presence (case_id) WHERE case_id IS NOT NULL;
