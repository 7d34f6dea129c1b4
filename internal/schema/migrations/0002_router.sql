-- Routing: versioned rule sets (the matrix as data), the decisions stored
-- with their cases, and a change counter the nodes poll to reload.

CREATE TABLE rule_sets (
    version      integer PRIMARY KEY,
    status       text NOT NULL CHECK (status IN ('draft','active','retired')),
    rules        jsonb NOT NULL,
    note         text NOT NULL DEFAULT '',
    author       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
CREATE UNIQUE INDEX rule_sets_one_active ON rule_sets ((true)) WHERE status = 'active';

CREATE TABLE routing_decisions (
    id           bigserial PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES cases(id),
    county_code  text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now(),
    rule_version integer NOT NULL,
    lead         text NOT NULL,
    applied      boolean NOT NULL,
    actor        text NOT NULL DEFAULT '',
    decision     jsonb NOT NULL
);
CREATE INDEX routing_decisions_case ON routing_decisions (case_id, id);

CREATE TABLE router_state (
    id            integer PRIMARY KEY CHECK (id = 1),
    units_version bigint NOT NULL DEFAULT 0
);
INSERT INTO router_state (id) VALUES (1);

CREATE FUNCTION units_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE router_state SET units_version = units_version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER units_changed AFTER INSERT OR UPDATE OR DELETE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION units_changed();
