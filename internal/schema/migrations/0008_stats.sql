-- Statistics (package stats): daily rollups folded from the event trail by
-- a periodic job, the job's watermark, and the indexes the statistics and
-- the overdue lists read. See docs/stats.md for the definitions.

-- Events by time: the Open311 update feed and ad-hoc detail queries over a
-- period read the trail by `at`.
CREATE INDEX case_events_at ON case_events (at);

-- Overdue lists: open cases that a unit holds, by the deadline that counts
-- now (sign-for while waiting for it, else resolution), most overdue first.
CREATE INDEX cases_overdue ON cases ((CASE WHEN state = 'pending_sign' THEN least(sign_due, due_at) ELSE due_at END))
    WHERE state IN ('pending_sign', 'in_progress', 'return_requested');

-- The rollups: counters per period and key, partitioned by the length of
-- the period, so that a question reads few rows: a month of the province
-- by county is 90 monthly rows. A period is a day ('d', stats_daily), a
-- week from Monday ('w', stats_weekly) or a calendar month ('m',
-- stats_monthly), in Asia/Shanghai; `day` is its first day. Every event is
-- counted in each of the three. Keys come at four grains:
--   'k'  county                        (by county; trends without other filters)
--   'c'  county, category              (by category over the province)
--   'u'  county, township, unit        (by unit or township; officers' rows)
--   't'  county, township, category    (by category within a township; top categories)
-- Dimensions a grain does not have are ''. Each counter is the number of
-- events of one kind in the period (see docs/stats.md for which day: the
-- sign-for figures count on the day of the sign-for deadline); *_secs are
-- sums of working seconds (workcal) from the round's dispatch.
CREATE TABLE stats_rollup (
    period         "char" NOT NULL CHECK (period IN ('d', 'w', 'm')),
    grain          "char" NOT NULL CHECK (grain IN ('k', 'c', 'u', 't')),
    day            date NOT NULL,
    county_code    text NOT NULL DEFAULT '',
    township_code  text NOT NULL DEFAULT '',
    unit_id        text NOT NULL DEFAULT '',
    category       text NOT NULL DEFAULT '',
    registered     integer NOT NULL DEFAULT 0, -- 受理登记
    answered       integer NOT NULL DEFAULT 0, -- 直接答复 (answered at first contact)
    dispatched     integer NOT NULL DEFAULT 0, -- dispatch rounds opened (派单, 改派, 重办, 升级)
    sign_due       integer NOT NULL DEFAULT 0, -- rounds whose sign-for deadline falls in the period (less those returned or merged unsigned)
    signed         integer NOT NULL DEFAULT 0, -- the lead unit's sign-for, by deadline
    signed_ontime  integer NOT NULL DEFAULT 0,
    sign_secs      bigint  NOT NULL DEFAULT 0, -- working seconds from dispatch to the lead's sign-for
    replied        integer NOT NULL DEFAULT 0, -- the lead unit's 办结反馈
    replied_ontime integer NOT NULL DEFAULT 0,
    reply_secs     bigint  NOT NULL DEFAULT 0, -- working seconds from dispatch to the lead's reply
    returned       integer NOT NULL DEFAULT 0, -- approved 退单
    resolved       integer NOT NULL DEFAULT 0, -- 办结审核通过
    redone         integer NOT NULL DEFAULT 0, -- 重办
    escalated      integer NOT NULL DEFAULT 0, -- 升级
    urged          integer NOT NULL DEFAULT 0, -- 督办
    rated          integer NOT NULL DEFAULT 0, -- callbacks that reached the citizen
    satisfied      integer NOT NULL DEFAULT 0,
    basic          integer NOT NULL DEFAULT 0,
    dissatisfied   integer NOT NULL DEFAULT 0,
    unreachable    integer NOT NULL DEFAULT 0,
    solved         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (period, grain, day, county_code, township_code, unit_id, category)
) PARTITION BY LIST (period);
-- Room on each page for the fold's in-place (HOT) updates: no counter is indexed.
CREATE TABLE stats_daily PARTITION OF stats_rollup FOR VALUES IN ('d') WITH (fillfactor = 80);
CREATE TABLE stats_weekly PARTITION OF stats_rollup FOR VALUES IN ('w') WITH (fillfactor = 80);
CREATE TABLE stats_monthly PARTITION OF stats_rollup FOR VALUES IN ('m') WITH (fillfactor = 80);
-- A unit's rows (the county is in the primary key's prefix; a township
-- filter brings its county).
CREATE INDEX stats_rollup_unit ON stats_rollup (unit_id, period, day) WHERE grain = 'u';

-- Operators' counters (for /metrics and the channel table): cases created
-- and routed by channel, events by action, deadlines fired by action.
CREATE TABLE stats_counts (
    day   date NOT NULL,
    name  text NOT NULL,   -- created | routed | action | deadline
    label text NOT NULL,   -- the channel or the action
    n     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, name, label)
);

-- The job's watermark: every event at or below (tx, last_id) in (tx, id)
-- order is folded into the rollups, in the same transaction as the rollups
-- themselves. Nodes take the row FOR UPDATE SKIP LOCKED: one folds at a
-- time, the others skip their turn.
CREATE TABLE stats_state (
    id        integer PRIMARY KEY CHECK (id = 1),
    tx        xid8 NOT NULL DEFAULT '0',
    last_id   bigint NOT NULL DEFAULT 0,
    events    bigint NOT NULL DEFAULT 0,   -- events folded since the last rebuild
    calendar  text NOT NULL DEFAULT '',    -- fingerprint of the working calendar the sums were computed with
    folded_at timestamptz
);
INSERT INTO stats_state (id) VALUES (1);
