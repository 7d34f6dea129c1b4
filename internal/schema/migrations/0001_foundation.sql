-- Foundation: handling units, people and sessions, cases, assignments and
-- the append-only event trail.
--
-- Every row that belongs to a case carries the case's county_code beside the
-- case id (the territory key), so the case tables can later be distributed
-- by territory (see docs/scaling.md). '' means "county not known yet".

CREATE TABLE units (
    id            text PRIMARY KEY,              -- 330106001-ZF, 330106-RSJ, 3301-WATER
    name          text NOT NULL,
    type          text NOT NULL,                 -- unit type code (ZF, RSJ, WATER, HC, ...)
    level         text NOT NULL CHECK (level IN ('township','county','utility','center','other')),
    province_code text NOT NULL DEFAULT '',
    city_code     text NOT NULL DEFAULT '',
    county_code   text NOT NULL DEFAULT '',
    township_code text NOT NULL DEFAULT '',
    active        boolean NOT NULL DEFAULT true,
    merged_into   text REFERENCES units(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_territory ON units (county_code, type);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('agent','dispatcher','supervisor','officer','admin','grid')),
    unit_id       text REFERENCES units(id),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'officer' OR unit_id IS NOT NULL)
);

CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,                -- sha256 of the cookie value
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Operator's additions to the embedded holiday calendar.
CREATE TABLE calendar_days (
    day  date PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('off','work')),
    name text NOT NULL DEFAULT ''
);

CREATE TABLE cases (
    id              uuid PRIMARY KEY,            -- UUIDv7
    tracking_no     text NOT NULL UNIQUE,
    county_code     text NOT NULL DEFAULT '',
    city_code       text NOT NULL DEFAULT '',
    township_code   text NOT NULL DEFAULT '',
    kind            text NOT NULL CHECK (kind IN ('咨询','求助','投诉','举报','建议','表扬','其他')),
    category        text NOT NULL DEFAULT '',
    title           text NOT NULL,
    content         text NOT NULL,
    address         text NOT NULL DEFAULT '',
    lat             double precision,
    lon             double precision,
    urgency         text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal','urgent','emergency')),
    citizen_name    text NOT NULL DEFAULT '',
    citizen_phone   text NOT NULL DEFAULT '',
    phone_last4     text NOT NULL DEFAULT '',
    anonymous       boolean NOT NULL DEFAULT false,
    confidential    boolean NOT NULL DEFAULT false, -- 举报: reporter identity for the hotline centre only
    channel         text NOT NULL,
    channel_ref     text,
    state           text NOT NULL,
    resume_state    text NOT NULL DEFAULT '',    -- where 挂起 / 退单申请 return to
    parent_id       uuid REFERENCES cases(id),   -- 并单
    policy          jsonb NOT NULL,              -- the deadline policy the case started with
    dispatch_round  integer NOT NULL DEFAULT 0,
    dispatched_at   timestamptz,
    sign_due        timestamptz,
    due_at          timestamptz,
    return_until    timestamptz,
    suspended_at    timestamptz,
    ext_count       integer NOT NULL DEFAULT 0,
    ext_until       timestamptz,                 -- pending 延期申请
    ext_reason      text NOT NULL DEFAULT '',
    return_count    integer NOT NULL DEFAULT 0,
    redo_count      integer NOT NULL DEFAULT 0,
    urge_count      integer NOT NULL DEFAULT 0,
    reply           text NOT NULL DEFAULT '',    -- the public answer / reply to the citizen
    satisfaction    text NOT NULL DEFAULT '',    -- satisfied | basic | dissatisfied | unreachable
    solved          boolean,
    rated_at        timestamptz,
    version         integer NOT NULL DEFAULT 0,  -- number of events
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE UNIQUE INDEX cases_channel_ref ON cases (channel, channel_ref) WHERE channel_ref IS NOT NULL;
CREATE INDEX cases_state ON cases (state, created_at);
CREATE INDEX cases_phone ON cases (citizen_phone, created_at) WHERE citizen_phone <> '';
CREATE INDEX cases_parent ON cases (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX cases_county ON cases (county_code, created_at);

CREATE TABLE assignments (
    id           uuid PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES cases(id),
    county_code  text NOT NULL DEFAULT '',
    unit_id      text NOT NULL REFERENCES units(id),
    role         text NOT NULL CHECK (role IN ('lead','co')),
    round        integer NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending_sign','signed','replied','return_requested','returned','closed')),
    dispatched_at timestamptz NOT NULL,
    signed_at    timestamptz,
    replied_at   timestamptz,
    reply        text NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT ''       -- internal note, never public
);
CREATE INDEX assignments_case ON assignments (case_id);
CREATE INDEX assignments_unit_open ON assignments (unit_id, state) WHERE state NOT IN ('returned','closed');

-- The trail: one row per step, never updated or deleted.
CREATE TABLE case_events (
    id           bigserial PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES cases(id),
    county_code  text NOT NULL DEFAULT '',
    seq          integer NOT NULL,              -- 1, 2, ... within the case
    at           timestamptz NOT NULL,
    action       text NOT NULL,
    actor_id     uuid,
    actor_name   text NOT NULL DEFAULT '',
    actor_role   text NOT NULL,
    actor_unit   text NOT NULL DEFAULT '',
    from_state   text NOT NULL DEFAULT '',
    to_state     text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    public       boolean NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}',
    UNIQUE (case_id, seq)
);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- Tracking-number serials, taken a block of 1000 at a time by each process.
CREATE SEQUENCE tracking_serial INCREMENT BY 1000 START WITH 1000;
