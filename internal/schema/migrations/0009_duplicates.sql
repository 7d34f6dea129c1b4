-- Duplicates (重复件, for 并单) and hot spots (热点): see cases/duplicates and
-- docs/duplicates.md.
--
-- No pg_trgm: our clusters are initialised with --no-locale (C ctype), where
-- pg_trgm treats every Chinese character as a separator and finds no
-- trigram at all; the similarity of texts is computed in Go on character
-- bigrams instead, over the few cases the indexes below bring back.

-- Similar content: open cases of the same township and category within days
-- of each other (the predicate must stay word for word duplicates.openSQL);
-- and all cases of a township and category in the last day, for hot spots.
CREATE INDEX cases_dup_topic_open ON cases (township_code, category, created_at)
    WHERE state NOT IN ('answered','archived','merged');
CREATE INDEX cases_dup_topic ON cases (township_code, category, created_at);

-- Nearby: open cases with a point, for a bounding-box prefilter (point <@ box)
-- before the haversine distance. The predicate must stay word for word the
-- one in duplicates.openSQL.
CREATE INDEX cases_dup_near ON cases USING gist (point(lon, lat))
    WHERE lat IS NOT NULL AND lon IS NOT NULL AND state NOT IN ('answered','archived','merged');

-- Candidates found when a case arrived (the dispatch queue's 可能重复 flag).
CREATE TABLE case_duplicates (
    case_id      uuid NOT NULL REFERENCES cases(id),
    county_code  text NOT NULL DEFAULT '',        -- the territory key of case_id
    candidate_id uuid NOT NULL REFERENCES cases(id),
    similarity   real NOT NULL CHECK (similarity >= 0 AND similarity <= 1),
    reasons      text[] NOT NULL,                 -- same_phone | similar_content | nearby
    found_at     timestamptz NOT NULL,
    PRIMARY KEY (case_id, candidate_id)
);
CREATE INDEX case_duplicates_candidate ON case_duplicates (candidate_id);

-- Alerts for the supervisors' console (hot spots first), tailed by the live
-- stream in commit-safe (tx, id) order like case_events.
CREATE TABLE console_alerts (
    id            bigserial PRIMARY KEY,
    tx            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind          text NOT NULL,                  -- hotspot
    township_code text NOT NULL DEFAULT '',
    county_code   text NOT NULL DEFAULT '',
    category      text NOT NULL DEFAULT '',
    count         integer NOT NULL,
    case_ids      uuid[] NOT NULL,
    title         text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_alerts_tx ON console_alerts (tx, id);
CREATE INDEX console_alerts_created ON console_alerts (created_at);
CREATE INDEX console_alerts_topic ON console_alerts (township_code, category, created_at);
