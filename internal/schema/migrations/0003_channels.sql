-- Intake: machine keys, attachments, the CTI call log and block list.

-- Who filed a case through a channel (an app user, a grid worker, a
-- device), so that "my cases" can be listed.
ALTER TABLE cases ADD COLUMN reporter text NOT NULL DEFAULT '';
CREATE INDEX cases_reporter ON cases (reporter, created_at) WHERE reporter <> '';

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL CHECK (kind IN ('app','kiosk','open311','cti')),
    township_code text NOT NULL DEFAULT '',
    secret_hash   bytea NOT NULL UNIQUE,          -- sha256 of the secret
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES cases(id),
    county_code  text NOT NULL DEFAULT '',
    sha256       text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    name         text NOT NULL DEFAULT '',
    uploaded_by  text NOT NULL DEFAULT '',
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, sha256)
);

-- The phone line: one row per call, linked to the case registered during it.
CREATE TABLE cti_calls (
    installation  uuid NOT NULL REFERENCES api_keys(id),
    call_id       text NOT NULL,
    county_code   text NOT NULL DEFAULT '',
    case_id       uuid REFERENCES cases(id),
    caller        text NOT NULL DEFAULT '',
    callee        text NOT NULL DEFAULT '',
    direction     text NOT NULL DEFAULT 'inbound',
    queue         text NOT NULL DEFAULT '',
    agent         text NOT NULL DEFAULT '',
    state         text NOT NULL DEFAULT 'ringing',
    hangup_cause  text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    ended_at      timestamptz,
    PRIMARY KEY (installation, call_id)
);
CREATE INDEX cti_calls_caller ON cti_calls (caller, started_at);

CREATE TABLE cti_blocklist (
    phone      text PRIMARY KEY,
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
