-- pgbench beside Yici: copies of the tables one submission writes, with
-- the same columns, defaults, checks, indexes and foreign keys (LIKE …
-- INCLUDING ALL copies all but the foreign keys, added below), in a schema
-- of their own in the same database, so that submission.sql measures what
-- PostgreSQL itself does with the same statements on this machine.
-- Run it again before each measurement (it starts from empty tables).
DROP SCHEMA IF EXISTS pgb CASCADE;
CREATE SCHEMA pgb;
CREATE TABLE pgb.cases (LIKE public.cases INCLUDING ALL);
CREATE TABLE pgb.case_events (LIKE public.case_events INCLUDING ALL);
CREATE TABLE pgb.assignments (LIKE public.assignments INCLUDING ALL);
CREATE TABLE pgb.routing_decisions (LIKE public.routing_decisions INCLUDING ALL);
CREATE TABLE pgb.case_timers (LIKE public.case_timers INCLUDING ALL);
ALTER TABLE pgb.cases ADD FOREIGN KEY (parent_id) REFERENCES pgb.cases(id);
ALTER TABLE pgb.case_events ADD FOREIGN KEY (case_id) REFERENCES pgb.cases(id);
ALTER TABLE pgb.assignments ADD FOREIGN KEY (case_id) REFERENCES pgb.cases(id), ADD FOREIGN KEY (unit_id) REFERENCES public.units(id);
ALTER TABLE pgb.routing_decisions ADD FOREIGN KEY (case_id) REFERENCES pgb.cases(id);
ALTER TABLE pgb.case_timers ADD FOREIGN KEY (case_id) REFERENCES pgb.cases(id);
CREATE SEQUENCE pgb.serial;
