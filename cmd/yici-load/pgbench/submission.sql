-- One routed app submission, statement for statement as Yici runs it
-- (channels.Intake.Submit: cases.Store.Create, router.Service.Record,
-- cases.Store.Dispatch with syncTimers), in one transaction:
--   writes: cases 1 insert + 2 updates, case_events 2, routing_decisions 1,
--           assignments 1, case_timers 5 = 12 rows (an average routed app
--           submission writes 12.3: 1.4 assignments, 4.9 timers)
--   reads:  the case twice (once FOR UPDATE), its assignments twice, the
--           units of the dispatch once
-- 15 statements between BEGIN and COMMIT. Run with -M prepared (pgx, Yici's
-- driver, prepares and caches its statements too).
\set n random(1, 9999)
BEGIN;
INSERT INTO pgb.cases (id, tracking_no, county_code, city_code, township_code, kind, category, title, content,
    address, lat, lon, urgency, citizen_name, citizen_phone, phone_last4, anonymous, confidential, channel, channel_ref,
    state, policy, version, created_at, updated_at, reporter)
  VALUES (gen_random_uuid(), 'pgb' || nextval('pgb.serial'), '330106', '3301', '330106013', '投诉', '0104', '文新街道丰潭路一家烧烤店油烟直排',
    '你好，文新街道丰潭路' || :n::text || '号楼下烧烤店油烟直排，晚上整栋楼都是油烟味，窗户都不敢开。请执法部门查一查有没有油烟净化设施。',
    '杭州市西湖区文新街道丰潭路' || :n::text || '号', NULL, NULL, 'normal', '张伟', '13812345678', '5678', false, false, 'app',
    'app-pgb-' || :client_id::text || '-' || nextval('pgb.serial'), 'registered',
    '{"version":1,"sign":{"N":2,"Unit":"working_hours"},"return":{"N":2,"Unit":"working_days"},"resolve":{"N":15,"Unit":"working_days"},"max_extension":{"N":10,"Unit":"working_days"},"sign_grace":{"N":2,"Unit":"working_hours"},"resolve_grace":{"N":1,"Unit":"working_days"},"rules":["默认","投诉"]}',
    0, now(), now(), 'app-pgb-13812345678')
  ON CONFLICT (channel, channel_ref) WHERE channel_ref IS NOT NULL DO NOTHING
  RETURNING id AS case_id \gset
SELECT id, tracking_no, county_code, city_code, township_code, kind, category, title, content, address, lat, lon,
    urgency, citizen_name, citizen_phone, anonymous, confidential, channel, coalesce(channel_ref, ''), reporter, state, resume_state, parent_id,
    policy, dispatch_round, dispatched_at, sign_due, due_at, return_until, suspended_at, ext_count, ext_until, ext_reason,
    return_count, redo_count, urge_count, callback_attempts, reply, satisfaction, solved, rated_at, version, created_at, updated_at, closed_at
  FROM pgb.cases WHERE id = :case_id::uuid;
SELECT a.id, a.unit_id, coalesce(u.name, a.unit_id), a.role, a.round, a.state, a.dispatched_at, a.signed_at, a.replied_at, a.reply, a.note
  FROM pgb.assignments a LEFT JOIN units u ON u.id = a.unit_id WHERE a.case_id = :case_id::uuid ORDER BY a.round, a.role DESC, a.dispatched_at, a.unit_id;
INSERT INTO pgb.case_events (case_id, county_code, seq, at, action, actor_id, actor_name, actor_role, actor_unit,
    from_state, to_state, reason, public, data)
  VALUES (:case_id::uuid, '330106', 1, now(), 'register', NULL, '移动应用用户', 'citizen', '', '', 'registered', '', true,
    '{"channel":"app","kind":"投诉","category":"0104","township":"330106013","county":"330106","triage":{"category":"0104","confidence":0.93,"township":"330106013","county":"330106","kind":"投诉","urgency":"normal"}}')
  RETURNING id;
UPDATE pgb.cases SET county_code='330106', city_code='3301', township_code='330106013', kind='投诉', category='0104', urgency='normal',
    state='registered', resume_state='', parent_id=NULL, policy=policy, dispatch_round=0, dispatched_at=NULL, sign_due=NULL, due_at=NULL,
    return_until=NULL, suspended_at=NULL, ext_count=0, ext_until=NULL, ext_reason='', return_count=0, redo_count=0,
    urge_count=0, reply='', satisfaction='', solved=NULL, rated_at=NULL, version=1, updated_at=now(), closed_at=NULL,
    lat=NULL, lon=NULL, address=address, callback_attempts=0
  WHERE id = :case_id::uuid;
INSERT INTO pgb.routing_decisions (case_id, county_code, rule_version, lead, applied, actor, decision)
  VALUES (:case_id::uuid, '330106', 1, '330106013-ZF', true, '移动应用用户',
    '{"lead":"330106013-ZF","lead_name":"西湖区文新街道综合执法平台","co":["330106-STJ"],"rule":"默认矩阵","rule_version":1,"summary":"主办：文新街道综合执法平台","steps":["类别 0104 餐饮油烟","属地 330106013 文新街道","默认主办 ZF"]}');
SELECT id, tracking_no, county_code, city_code, township_code, kind, category, title, content, address, lat, lon,
    urgency, citizen_name, citizen_phone, anonymous, confidential, channel, coalesce(channel_ref, ''), reporter, state, resume_state, parent_id,
    policy, dispatch_round, dispatched_at, sign_due, due_at, return_until, suspended_at, ext_count, ext_until, ext_reason,
    return_count, redo_count, urge_count, callback_attempts, reply, satisfaction, solved, rated_at, version, created_at, updated_at, closed_at
  FROM pgb.cases WHERE id = :case_id::uuid FOR UPDATE;
SELECT a.id, a.unit_id, coalesce(u.name, a.unit_id), a.role, a.round, a.state, a.dispatched_at, a.signed_at, a.replied_at, a.reply, a.note
  FROM pgb.assignments a LEFT JOIN units u ON u.id = a.unit_id WHERE a.case_id = :case_id::uuid ORDER BY a.round, a.role DESC, a.dispatched_at, a.unit_id;
SELECT count(*) FROM units WHERE id = ANY('{330106013-ZF}'::text[]) AND active;
INSERT INTO pgb.assignments (id, case_id, county_code, unit_id, role, round, state, dispatched_at)
  VALUES (gen_random_uuid(), :case_id::uuid, '330106', '330106013-ZF', 'lead', 1, 'pending_sign', now());
INSERT INTO pgb.case_events (case_id, county_code, seq, at, action, actor_id, actor_name, actor_role, actor_unit,
    from_state, to_state, reason, public, data)
  VALUES (:case_id::uuid, '330106', 2, now(), 'dispatch', NULL, '自动派单', 'system', '', 'registered', 'pending_sign', '主办：西湖区文新街道综合执法平台', true,
    '{"lead":"330106013-ZF","co":[],"round":1,"category":"0104","township":"330106013","county":"330106","sign_due":"2026-11-30","due_at":"2026-12-18","decision":{"rule_version":1,"rule":"默认矩阵","summary":"主办：文新街道综合执法平台"}}')
  RETURNING id;
UPDATE pgb.cases SET county_code='330106', city_code='3301', township_code='330106013', kind='投诉', category='0104', urgency='normal',
    state='pending_sign', resume_state='', parent_id=NULL, policy=policy, dispatch_round=1, dispatched_at=now(), sign_due=now() + interval '2 hours',
    due_at=now() + interval '21 days', return_until=now() + interval '2 days', suspended_at=NULL, ext_count=0, ext_until=NULL, ext_reason='',
    return_count=0, redo_count=0, urge_count=0, reply='', satisfaction='', solved=NULL, rated_at=NULL, version=2, updated_at=now(),
    closed_at=NULL, lat=NULL, lon=NULL, address=address, callback_attempts=0
  WHERE id = :case_id::uuid;
WITH want(kind, fire_at) AS (SELECT * FROM unnest('{sign_warn,sign_due,sign_escalate,resolve_warn,resolve_due}'::text[],
        ARRAY[now() + interval '96 minutes', now() + interval '2 hours', now() + interval '4 hours', now() + interval '17 days', now() + interval '21 days']::timestamptz[])),
    gone AS (DELETE FROM pgb.case_timers t WHERE t.case_id = :case_id::uuid AND NOT EXISTS (SELECT 1 FROM want w WHERE w.kind = t.kind))
  INSERT INTO pgb.case_timers (case_id, county_code, kind, fire_at) SELECT :case_id::uuid, '330106', kind, fire_at FROM want
  ON CONFLICT (case_id, kind) DO UPDATE SET county_code = excluded.county_code,
    fire_at = CASE WHEN case_timers.kind = 'callback_due' THEN case_timers.fire_at ELSE excluded.fire_at END,
    fired_at = CASE WHEN case_timers.kind = 'callback_due' OR case_timers.fire_at = excluded.fire_at THEN case_timers.fired_at END;
COMMIT;
