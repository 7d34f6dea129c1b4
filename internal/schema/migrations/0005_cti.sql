-- The phone line's CTI connector (package channels/cti): what the call log
-- of 0003 lacked, and the screen-pops waiting for the agents' consoles.

-- A callId names one call across all installations. A case an agent
-- registers during a call carries the bare callId as its channel_ref
-- (unique per channel, see cases_channel_ref), so two installations sending
-- the same callId would share that case: the connector answers such a
-- newCall with 409 instead.
CREATE UNIQUE INDEX cti_calls_call_id ON cti_calls (call_id);

ALTER TABLE cti_calls
    ADD COLUMN ring_users text[] NOT NULL DEFAULT '{}',   -- newCall's user[]: whom the call rang at
    ADD COLUMN duration   integer CHECK (duration >= 0), -- seconds, as the hangup event gave it
    ADD CONSTRAINT cti_calls_state CHECK (state IN ('ringing','answered','ended')),
    ADD CONSTRAINT cti_calls_direction CHECK (direction IN ('inbound','outbound'));

-- Who blocked a number (a staff username).
ALTER TABLE cti_blocklist ADD COLUMN created_by text NOT NULL DEFAULT '';

-- A screen-pop: the caller's recent cases, for the agent who answered.
-- Rows are written once per (call, agent) and read by id, per agent, so a
-- console can ask for everything after the last id it has seen.
CREATE TABLE cti_screenpops (
    id           bigserial PRIMARY KEY,
    installation uuid NOT NULL,
    call_id      text NOT NULL,
    agent        text NOT NULL REFERENCES users(username),
    caller       text NOT NULL DEFAULT '',
    history      jsonb NOT NULL DEFAULT '[]',   -- [{tracking_no, title, state, state_label, date}], 举报: tracking_no and state only
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (installation, call_id) REFERENCES cti_calls (installation, call_id),
    UNIQUE (installation, call_id, agent)
);
CREATE INDEX cti_screenpops_agent ON cti_screenpops (agent, id);
