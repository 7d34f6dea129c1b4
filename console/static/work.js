// The officers' workbench: the unit's queue, kept live by the console
// stream (/console/ws), and the case panel with the actions the API
// allows. Everything the server sends is put on the page with
// textContent and DOM calls, never as HTML.

const main = document.getElementById('main');
const myUnit = document.getElementById('work-unit').dataset.unit;
const me = main.dataset.me;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);

// Labels of the API's codes (cases/machine.go, cases/model.go).
const ACTIONS = {
  register: '受理登记', answer: '直接答复', submit: '转派单', dispatch: '派单', sign: '签收',
  request_return: '申请退单', approve_return: '同意退单', reject_return: '驳回退单',
  request_extension: '申请延期', approve_extension: '同意延期', reject_extension: '驳回延期',
  suspend: '挂起', resume: '恢复办理', reply: '办结反馈', approve_review: '办结审核通过',
  reject_review: '办结审核退回', callback: '回访', redo: '重办', urge: '督办', escalate: '升级至县级办理',
  merge: '并单', follow_parent: '随主件办结', note: '补充说明',
};
const STATES = {
  registered: '已受理', answered: '已直接答复', pending_dispatch: '待派单', pending_sign: '待签收',
  in_progress: '办理中', return_requested: '退单审核中', pending_review: '办结审核中',
  pending_callback: '待回访', suspended: '已挂起', archived: '已办结归档', merged: '已并单',
};
const PARTS = {
  pending_sign: '待签收', signed: '已签收', replied: '已反馈', return_requested: '退单申请中',
  returned: '已退回', closed: '已办结',
};
const ROLES = { lead: '主办', co: '协办' };
const URGENCY = { normal: '一般', urgent: '紧急', emergency: '特急' };
const CHANNELS = {
  phone: '电话', web: '网站', app: '移动应用', grid: '网格员上报', kiosk: '自助终端',
  open311: 'Open311', console: '人工登记',
};
const LIGHTS = { green: '正常', yellow: '临近期限', red: '已超期' };
const LIGHT_ICONS = { green: '●', yellow: '▲', red: '■' };
const OFFICER_ACTIONS = ['sign', 'reply', 'request_extension', 'suspend', 'resume', 'request_return'];

// ---- small helpers -------------------------------------------------------

function el(tag, props, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

const dateParts = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

// when formats an instant in Asia/Shanghai: 2026-12-18 17:30.
function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = {};
  for (const x of dateParts.formatToParts(d)) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

// shanghaiDate is the calendar date (YYYY-MM-DD) of an instant in Shanghai.
function shanghaiDate(ms) {
  return when(new Date(ms).toISOString()).slice(0, 10);
}

function groupNo(no) {
  return no && no.length === 15 ? `${no.slice(0, 6)} ${no.slice(6, 10)} ${no.slice(10, 14)} ${no.slice(14)}` : (no || '');
}

let clockOffset = 0; // server time minus this device's time
const now = () => Date.now() + clockOffset;

// remaining says how long is left, or how long overdue: 剩 3 小时, 已超期 2 天.
function remaining(dueIso) {
  const ms = Date.parse(dueIso) - now();
  const abs = Math.abs(ms);
  let n; let unit;
  if (abs < 3600e3) { n = Math.max(1, Math.floor(abs / 60e3)); unit = '分钟'; }
  else if (abs < 48 * 3600e3) { n = Math.floor(abs / 3600e3); unit = '小时'; }
  else { n = Math.floor(abs / 86400e3); unit = '天'; }
  return ms >= 0 ? `剩 ${n} ${unit}` : `已超期 ${n} ${unit}`;
}

function fileSize(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}

class APIError extends Error {
  constructor(status, message, fields) { super(message); this.status = status; this.fields = fields; }
}

// api calls the JSON API with the session's CSRF token; errors carry the
// server's Chinese messages.
async function api(method, path, body) {
  const opt = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
  if (body instanceof FormData) opt.body = body;
  else if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opt);
  } catch {
    throw new APIError(0, '网络连接失败，请检查网络后重试', []);
  }
  if (res.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new APIError(401, '登录已过期，请重新登录', []);
  }
  let data = null;
  try { data = await res.json(); } catch { /* no body */ }
  if (!res.ok) {
    const errs = (data && Array.isArray(data.errors)) ? data.errors : [];
    const msg = errs.map((e) => e.message_zh).filter(Boolean).join('；') || `操作失败（${res.status}），请稍后重试`;
    throw new APIError(res.status, msg, errs.map((e) => e.field));
  }
  return data;
}

// ---- categories ------------------------------------------------------------

let categories = null;
async function categoryName(code) {
  if (!categories) {
    categories = new Map();
    try {
      const data = await api('GET', '/api/v1/categories');
      for (const c of data.categories || []) categories.set(c.code, `${c.group} / ${c.name}`);
    } catch { /* the code will do */ }
  }
  return categories.get(code) || code || '未分类';
}

// ---- the queue -------------------------------------------------------------

let items = [];
let known = null; // ids seen so far (null before the first load)
const fresh = new Set(); // ids that arrived live and were not opened yet
let queueSeq = 0;

function dueOf(it) {
  if (it.state === 'pending_sign' && it.sign_due) return { at: it.sign_due, what: '签收' };
  if (it.due_at) return { at: it.due_at, what: '办结' };
  return null;
}

function lightOf(it) {
  const d = dueOf(it);
  if (it.state !== 'suspended' && d && Date.parse(d.at) <= now()) return 'red';
  return LIGHTS[it.light] ? it.light : 'green';
}

function badge(it) {
  const light = lightOf(it);
  const d = dueOf(it);
  let text;
  if (it.state === 'suspended') text = '挂起中，期限暂停';
  else if (!d) text = LIGHTS[light];
  else if (light === 'yellow') text = `临近期限 · ${remaining(d.at)}`;
  else text = remaining(d.at);
  return el('span', { class: `badge badge-${light}` },
    el('span', { class: 'badge-icon', 'aria-hidden': 'true', text: LIGHT_ICONS[light] }), ` ${text}`);
}

function card(it) {
  const d = dueOf(it);
  const part = it.role === 'co' ? '协办' : '主办';
  const meta = [groupNo(it.tracking_no)];
  if (d) meta.push(`${d.what}期限 ${when(d.at)}`);
  if (it.urge_count > 0) meta.push(`督办 ${it.urge_count} 次`);
  if (it.redo_count > 0) meta.push(`重办 ${it.redo_count} 次`);
  const state = it.assignment_state && it.assignment_state !== 'signed' && PARTS[it.assignment_state]
    ? `本单位${PARTS[it.assignment_state]}` : (it.state_label || STATES[it.state] || it.state);
  const link = el('a', { class: 'card-link', href: `/work/cases/${it.id}`, 'data-id': it.id },
    el('span', { class: 'card-top' },
      badge(it),
      el('span', { class: 'tag tag-state', text: state }),
      el('span', { class: 'tag', text: part }),
      it.urgency && it.urgency !== 'normal' ? el('span', { class: 'tag tag-urgent', text: URGENCY[it.urgency] }) : null,
      fresh.has(it.id) ? el('span', { class: 'tag tag-new', text: '新' }) : null),
    el('span', { class: 'card-title', text: it.title || '（无标题）' }),
    el('span', { class: 'card-meta', text: meta.join(' · ') }));
  return el('li', { class: `card card-${lightOf(it)}${openId === it.id ? ' is-open' : ''}`, 'data-id': it.id }, link);
}

function renderQueue() {
  const list = $('queue');
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#queue .card-link');
  const focusId = focused ? focused.dataset.id : null;
  list.replaceChildren(...items.map(card));
  if (focusId) {
    const again = list.querySelector(`.card-link[data-id="${CSS.escape(focusId)}"]`);
    if (again) again.focus();
  }
  $('queue-empty').hidden = items.length > 0;
  let red = 0; let yellow = 0; let sign = 0;
  for (const it of items) {
    const l = lightOf(it);
    if (l === 'red') red++;
    if (l === 'yellow') yellow++;
    if (it.assignment_state === 'pending_sign') sign++;
  }
  const parts = [`共 ${items.length} 件`];
  if (sign) parts.push(`待签收 ${sign} 件`);
  if (yellow) parts.push(`临近期限 ${yellow} 件`);
  if (red) parts.push(`已超期 ${red} 件`);
  $('queue-summary').textContent = parts.join(' · ');
}

function announce(text) {
  const a = $('announce');
  a.textContent = text;
  a.classList.toggle('is-shown', text !== '');
}

async function loadQueue() {
  const seq = ++queueSeq;
  let data;
  try {
    data = await api('GET', '/api/v1/queues/unit');
  } catch (e) {
    if (seq !== queueSeq) return;
    $('queue-error').textContent = `工单列表加载失败：${e.message}`;
    $('queue-error').hidden = false;
    return;
  }
  if (seq !== queueSeq) return; // a later load is on its way
  $('queue-error').hidden = true;
  if (data.now) {
    const t = Date.parse(data.now);
    if (!Number.isNaN(t)) clockOffset = t - Date.now();
  }
  items = Array.isArray(data.items) ? data.items : [];
  const arrived = [];
  if (known) {
    for (const it of items) {
      if (!known.has(it.id)) { arrived.push(it); fresh.add(it.id); }
    }
  }
  known = new Set(items.map((it) => it.id));
  renderQueue();
  if (arrived.length === 1) {
    announce(`新工单：${arrived[0].title || ''}（受理编号 ${groupNo(arrived[0].tracking_no)}）`);
  } else if (arrived.length > 1) {
    announce(`收到 ${arrived.length} 件新工单`);
  }
}

let queueTimer = 0;
function refreshQueueSoon() {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(loadQueue, 150);
}

// ---- the live stream ---------------------------------------------------------

let ws = null;
let last = null; // highest stream position received
let retries = 0;
let reconnectTimer = 0;

function setLive(state, text) {
  const live = $('live');
  live.dataset.state = state;
  $('live-text').textContent = text;
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function connect() {
  clearTimeout(reconnectTimer);
  const url = new URL('/console/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (last !== null) url.searchParams.set('last', String(last));
  let sock;
  try {
    sock = new WebSocket(url);
  } catch {
    scheduleReconnect();
    return;
  }
  ws = sock;
  sock.addEventListener('message', (ev) => {
    if (ws !== sock) return;
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    onMessage(m);
  });
  sock.addEventListener('close', () => {
    if (ws !== sock) return;
    ws = null;
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  retries++;
  setLive('offline', '连接中断，正在重连…');
  const wait = Math.min(15000, 1000 * 2 ** Math.min(retries - 1, 4)) + Math.floor(Math.random() * 500);
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(async () => {
    if (retries > 2) {
      // A refused upgrade looks like a dropped connection: an expired
      // session is sent to the sign-in page by api().
      try { await api('GET', '/api/v1/session'); } catch { /* retry anyway */ }
    }
    connect();
  }, wait);
}

function onMessage(m) {
  switch (m.type) {
    case 'hello':
      retries = 0;
      if (last === null && typeof m.pos === 'number') last = m.pos;
      setLive('live', '实时更新');
      // Whatever happened before this connection is in the fresh state.
      loadQueue();
      if (openId) {
        send({ type: 'open', case_id: openId });
        reloadCaseSoon();
      }
      break;
    case 'event': {
      if (typeof m.pos !== 'number' || (last !== null && m.pos <= last)) return; // seen already
      last = m.pos;
      const e = m.event || {};
      refreshQueueSoon();
      if (openId && e.case_id === openId) reloadCaseSoon();
      break;
    }
    case 'resync':
      if (typeof m.pos === 'number') last = m.pos;
      loadQueue();
      if (openId) reloadCaseSoon();
      break;
    case 'presence':
      onPresence(m);
      break;
    default:
      // Newer message types are ignored (protocol: additions keep the version).
  }
}

let viewers = new Map(); // case id → [{username, name, editing}]
function onPresence(m) {
  if (m.full) viewers = new Map();
  for (const [id, list] of Object.entries(m.cases || {})) {
    if (Array.isArray(list) && list.length) viewers.set(id, list);
    else viewers.delete(id);
  }
  renderViewers();
}

function renderViewers() {
  const p = $('c-viewers');
  const list = (openId && viewers.get(openId)) || [];
  const others = list.filter((v) => v.username !== me).map((v) => v.name || v.username);
  p.hidden = others.length === 0;
  p.textContent = others.length ? `同时在看：${others.join('、')}` : '';
}

// ---- the case panel --------------------------------------------------------------

let openId = null;
let current = null; // the case as last loaded
let caseSeq = 0;

function myAssignment(c) {
  const mine = (c.assignments || []).filter((a) => a.unit_id === myUnit);
  if (!mine.length) return null;
  return mine.reduce((a, b) => (b.round > a.round ? b : a));
}

function currentRound(c) {
  return (c.assignments || []).reduce((r, a) => Math.max(r, a.round), 0);
}

function unitName(c, id) {
  if (!id) return '';
  const a = (c.assignments || []).find((x) => x.unit_id === id && x.unit_name);
  if (a) return a.unit_name;
  if (id.endsWith('-HC')) return '12345 热线中心';
  return id;
}

function setPhone(dd, c) {
  dd.replaceChildren();
  const phone = c.citizen_phone || '';
  if (phone) {
    const digits = phone.replace(/[^0-9+]/g, '');
    dd.append(el('a', { href: `tel:${digits}`, text: phone }));
  } else {
    dd.textContent = (c.confidential || c.anonymous) ? '保密（仅热线中心可见）' : '未留电话';
  }
}

function deadlineLine(c) {
  const p = $('c-deadline');
  p.replaceChildren();
  const it = items.find((x) => x.id === c.id);
  const lines = [];
  if (c.state === 'suspended') lines.push(['green', '已挂起，办理期限暂停计算']);
  else {
    if (c.state === 'pending_sign' && c.sign_due) {
      const late = Date.parse(c.sign_due) <= now();
      lines.push([late ? 'red' : (it ? lightOf(it) : 'green'), `签收期限 ${when(c.sign_due)}（${remaining(c.sign_due)}）`]);
    }
    if (c.due_at && ['pending_sign', 'in_progress', 'return_requested', 'pending_review'].includes(c.state)) {
      const late = Date.parse(c.due_at) <= now();
      const light = late ? 'red' : (it && c.state !== 'pending_sign' ? lightOf(it) : 'green');
      lines.push([light, `办结期限 ${when(c.due_at)}（${remaining(c.due_at)}）`]);
    }
  }
  for (const [light, text] of lines) {
    p.append(el('span', { class: `badge badge-${light}` },
      el('span', { class: 'badge-icon', 'aria-hidden': 'true', text: LIGHT_ICONS[light] }), ` ${text}`));
  }
  p.hidden = lines.length === 0;
}

async function renderCase(c) {
  current = c;
  $('c-no').textContent = groupNo(c.tracking_no);
  $('case-title').textContent = c.title || '（无标题）';
  $('c-state').textContent = c.state_label || STATES[c.state] || c.state;
  const mine = myAssignment(c);
  const role = $('c-role');
  role.textContent = mine ? `本单位${ROLES[mine.role] || mine.role} · ${PARTS[mine.state] || mine.state}` : '';
  role.hidden = !mine;
  $('c-kind').textContent = c.kind || '';
  $('c-urgency').textContent = `${URGENCY[c.urgency] || '一般'}`;
  $('c-urgency').classList.toggle('tag-urgent', c.urgency && c.urgency !== 'normal');
  $('c-urge').hidden = !(c.urge_count > 0);
  $('c-urge').textContent = `督办 ${c.urge_count} 次`;
  deadlineLine(c);
  const ext = $('c-ext');
  ext.hidden = !c.ext_until;
  ext.textContent = c.ext_until ? `已申请延期至 ${when(c.ext_until)}，等待热线中心审批。理由：${c.ext_reason || '—'}` : '';
  $('co-note').hidden = !(mine && mine.role === 'co' && mine.state !== 'closed');

  $('c-content').textContent = c.content || '';
  $('c-address').textContent = c.address || '—';
  $('c-citizen').textContent = c.citizen_name || '—';
  setPhone($('c-phone'), c);
  $('c-channel').textContent = CHANNELS[c.channel] || c.channel || '—';
  $('c-created').textContent = when(c.created_at);
  $('c-category').textContent = await categoryName(c.category);

  const round = currentRound(c);
  const units = (c.assignments || []).filter((a) => a.round === round && a.state !== 'returned');
  $('c-units').replaceChildren(...(units.length ? units.map((a) => el('li', {},
    el('strong', { text: a.unit_name || a.unit_id }),
    ` · ${ROLES[a.role] || a.role} · ${PARTS[a.state] || a.state}`,
    a.unit_id === myUnit ? el('span', { class: 'tag tag-mine', text: '本单位' }) : null,
    a.reply ? el('p', { class: 'unit-reply', text: `反馈：${a.reply}` }) : null,
    a.note ? el('p', { class: 'unit-note', text: `内部备注：${a.note}` }) : null))
    : [el('li', { class: 'muted', text: '暂无' })]));

  renderActions(c);
  renderViewers();
}

function renderTimeline(c, events) {
  const list = $('c-timeline');
  list.replaceChildren(...events.map((e) => {
    const who = [e.actor_name, e.actor_unit && e.actor_role === 'officer' ? unitName(c, e.actor_unit) : ''].filter(Boolean).join(' · ');
    const lines = [];
    if (e.reason) lines.push(e.reason);
    const data = e.data || {};
    if (e.action === 'request_extension' && data.until) lines.push(`申请延期至 ${when(data.until)}`);
    if (e.action === 'approve_extension' && data.due_at) lines.push(`办结期限延至 ${when(data.due_at)}`);
    // Internal notes: this unit's own only (never another unit's).
    if (data.note && e.actor_unit === myUnit) lines.push(`内部备注：${data.note}`);
    if (Array.isArray(data.attachments) && data.attachments.length) lines.push(`附件 ${data.attachments.length} 个`);
    const moved = e.to && e.to !== e.from ? ` → ${STATES[e.to] || e.to}` : '';
    return el('li', {},
      el('p', { class: 'tl-head' },
        el('time', { datetime: e.at, text: when(e.at) }), ' ',
        el('strong', { text: ACTIONS[e.action] || e.action }),
        moved ? el('span', { class: 'muted', text: moved }) : null,
        e.public ? el('span', { class: 'tag tag-public', text: '市民可见' }) : null),
      who ? el('p', { class: 'tl-who', text: who }) : null,
      ...lines.map((t) => el('p', { class: 'tl-text', text: t })));
  }));
}

function renderFiles(files) {
  const list = $('c-files');
  list.replaceChildren(...files.map((f) => {
    const href = `/api/v1/attachments/${encodeURIComponent(f.id)}`;
    const label = f.name || '附件';
    const meta = el('span', { class: 'file-meta', text: `${label} · ${fileSize(f.size)} · ${when(f.at)}` });
    if ((f.content_type || '').startsWith('image/')) {
      return el('li', { class: 'file file-image' },
        el('a', { href, target: '_blank', rel: 'noopener' },
          el('img', { src: href, alt: `照片：${label}`, loading: 'lazy', decoding: 'async' })), meta);
    }
    if ((f.content_type || '').startsWith('audio/')) {
      return el('li', { class: 'file' }, el('audio', { src: href, controls: true, preload: 'none', 'aria-label': `录音：${label}` }), meta);
    }
    return el('li', { class: 'file' }, el('a', { href, text: `下载 ${label}` }), meta);
  }));
  $('c-files-empty').hidden = files.length > 0;
}

function renderActions(c) {
  const allowed = new Set((c.allowed || []).filter((a) => OFFICER_ACTIONS.includes(a)));
  for (const b of document.querySelectorAll('.action-buttons [data-act]')) b.hidden = !allowed.has(b.dataset.act);
  // A form whose action is no longer possible (someone else acted) closes.
  for (const f of document.querySelectorAll('form.action-form')) {
    if (!f.hidden && !f.dataset.submitting && !allowed.has(f.dataset.act)) {
      closeForm(f, false);
      status(`“${ACTIONS[f.dataset.act]}”已不能执行：工单状态已变为“${c.state_label}”。`, true);
    }
  }
  $('no-actions').hidden = allowed.size > 0;
  const mine = myAssignment(c);
  const co = mine && mine.role === 'co';
  $('reply-label').textContent = co
    ? '协办反馈意见（必填，报主办单位和热线中心）'
    : '答复市民的内容（必填，市民可在进度查询中看到）';
  $('f-reply-title').textContent = co ? '协办反馈' : '办结反馈';
  const rb = document.querySelector('.action-buttons [data-act="reply"]');
  rb.textContent = co ? '协办反馈' : '办结反馈';
  $('return-window').textContent = c.return_until ? `退单须在 ${when(c.return_until)} 前提出，由热线中心审核。` : '退单由热线中心审核。';
  $('ext-current').textContent = c.due_at ? `当前办结期限：${when(c.due_at)}` : '';
  const minDate = shanghaiDate(Math.max(now(), c.due_at ? Date.parse(c.due_at) : 0));
  $('ext-date').min = minDate;
}

function status(text, isError) {
  const s = $('action-status');
  s.textContent = text;
  s.classList.toggle('is-error', !!isError);
}

async function loadCase(id, { focus = false } = {}) {
  const seq = ++caseSeq;
  const focusedBefore = document.activeElement;
  const box = $('case');
  if (!current || current.id !== id) {
    box.hidden = true;
    $('case-loading').textContent = '正在加载工单…';
  }
  let c; let events; let files;
  try {
    [c, events, files] = await Promise.all([
      api('GET', `/api/v1/cases/${encodeURIComponent(id)}`),
      api('GET', `/api/v1/cases/${encodeURIComponent(id)}/events`),
      api('GET', `/api/v1/cases/${encodeURIComponent(id)}/attachments`),
    ]);
  } catch (e) {
    if (seq !== caseSeq || openId !== id) return;
    box.hidden = true;
    $('case-loading').textContent = e.status === 404 ? '没有找到这件工单，或它不属于本单位。' : `工单加载失败：${e.message}`;
    return;
  }
  if (seq !== caseSeq || openId !== id) return;
  $('case-loading').textContent = '';
  await renderCase(c);
  renderTimeline(c, (events && events.events) || []);
  renderFiles((files && files.attachments) || []);
  box.hidden = false;
  // Move focus to the case only if the person has not gone somewhere else
  // while it loaded (a form opened meanwhile keeps its focus).
  if (focus && document.activeElement === focusedBefore) $('case-title').focus();
}

let caseTimer = 0;
function reloadCaseSoon() {
  clearTimeout(caseTimer);
  caseTimer = setTimeout(() => { if (openId) loadCase(openId); }, 200);
}

function openCase(id, { push = false, focus = true } = {}) {
  if (push) history.pushState({ caseId: id }, '', `/work/cases/${id}`);
  if (openId !== id) {
    for (const f of document.querySelectorAll('form.action-form')) closeForm(f, false);
    status('');
    current = null;
  }
  openId = id;
  fresh.delete(id);
  document.body.classList.add('case-open');
  $('case-pane').hidden = false;
  renderQueue();
  send({ type: 'open', case_id: id });
  loadCase(id, { focus });
}

function closeCase({ push = false } = {}) {
  const was = openId;
  if (push) history.pushState({}, '', '/work');
  openId = null;
  current = null;
  document.body.classList.remove('case-open');
  $('case-pane').hidden = true;
  send({ type: 'close' });
  renderQueue();
  const link = was && $('queue').querySelector(`.card-link[data-id="${CSS.escape(was)}"]`);
  if (link) link.focus();
  else $('queue-title').focus();
}

// ---- actions -------------------------------------------------------------------

function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) { p.hidden = true; p.textContent = ''; }
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
}

function fieldError(controlId, errId, text) {
  const c = $(controlId);
  const p = $(errId);
  p.textContent = text;
  p.hidden = false;
  c.setAttribute('aria-invalid', 'true');
  return c;
}

function openForm(form) {
  for (const f of document.querySelectorAll('form.action-form')) if (f !== form) closeForm(f, false);
  form.hidden = false;
  const b = document.querySelector(`[data-open="${form.id}"]`);
  if (b) b.setAttribute('aria-expanded', 'true');
  const first = form.querySelector('textarea, input:not([type="hidden"])');
  if (first) first.focus();
}

function closeForm(form, refocus) {
  if (form.hidden) return;
  form.hidden = true;
  const b = document.querySelector(`[data-open="${form.id}"]`);
  if (b) {
    b.setAttribute('aria-expanded', 'false');
    if (refocus && !b.hidden) b.focus();
  }
}

function resetForm(form) {
  form.reset();
  clearErrors(form);
  delete form.dataset.uploaded;
  if (form.id === 'f-reply') clearPreviews();
}

let previewURLs = [];
function clearPreviews() {
  for (const u of previewURLs) URL.revokeObjectURL(u);
  previewURLs = [];
  $('reply-previews').replaceChildren();
}

$('reply-photos').addEventListener('change', () => {
  clearPreviews();
  const form = $('f-reply');
  delete form.dataset.uploaded;
  clearErrors(form);
  const files = [...$('reply-photos').files];
  for (const f of files) {
    const u = URL.createObjectURL(f);
    previewURLs.push(u);
    $('reply-previews').append(el('li', {}, el('img', { src: u, alt: `待上传：${f.name}` }), el('span', { text: `${f.name} · ${fileSize(f.size)}` })));
  }
  if (files.length > 6) fieldError('reply-photos', 'reply-photos-err', '一次最多上传 6 张照片');
  else if (files.some((f) => f.size > 10 << 20)) fieldError('reply-photos', 'reply-photos-err', '单张照片不能超过 10 MB');
});

async function act(action, body, doneText) {
  const id = openId;
  const c = await api('POST', `/api/v1/cases/${encodeURIComponent(id)}/${action}`, body || {});
  if (openId === id) {
    status(doneText);
    await loadCase(id);
  }
  refreshQueueSoon();
  return c;
}

async function busy(button, fn) {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try { await fn(); } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

$('do-sign').addEventListener('click', (ev) => busy(ev.currentTarget, async () => {
  status('正在签收…');
  try {
    await act('sign', {}, '已签收，请按期办理。');
    $('action-status').focus();
  } catch (e) {
    status(`签收失败：${e.message}`, true);
  }
}));

for (const b of document.querySelectorAll('[data-open]')) {
  b.addEventListener('click', () => {
    const f = $(b.dataset.open);
    if (f.hidden) openForm(f); else closeForm(f, true);
  });
}
for (const b of document.querySelectorAll('form.action-form [data-close]')) {
  b.addEventListener('click', () => closeForm(b.closest('form'), true));
}
for (const f of document.querySelectorAll('form.action-form')) {
  f.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeForm(f, true); });
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const button = f.querySelector('button[type="submit"]');
    busy(button, () => submitForm(f));
  });
}

// validate checks a form; it returns the body of the action, or null
// after marking what is missing.
function validate(form) {
  clearErrors(form);
  const bad = [];
  const text = (id) => $(id).value.trim();
  switch (form.dataset.act) {
    case 'reply': {
      if (!text('reply-text')) bad.push(fieldError('reply-text', 'reply-text-err', '请填写反馈内容'));
      const files = [...$('reply-photos').files];
      if (files.length > 6) bad.push(fieldError('reply-photos', 'reply-photos-err', '一次最多上传 6 张照片'));
      else if (files.some((f) => f.size > 10 << 20)) bad.push(fieldError('reply-photos', 'reply-photos-err', '单张照片不能超过 10 MB'));
      if (bad.length) break;
      return { reply: text('reply-text'), note: text('reply-note') };
    }
    case 'request_extension': {
      const date = $('ext-date').value;
      const time = $('ext-time').value || '17:30';
      let until = null;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) bad.push(fieldError('ext-date', 'ext-date-err', '请选择延期后的日期'));
      else {
        until = `${date}T${time}:00+08:00`;
        const t = Date.parse(until);
        const due = current && current.due_at ? Date.parse(current.due_at) : 0;
        if (Number.isNaN(t)) bad.push(fieldError('ext-date', 'ext-date-err', '日期或时间无效'));
        else if (t <= Math.max(due, now())) bad.push(fieldError('ext-date', 'ext-date-err', '延期后的期限必须晚于当前办结期限'));
      }
      if (!text('ext-reason')) bad.push(fieldError('ext-reason', 'ext-reason-err', '请填写延期理由'));
      if (bad.length) break;
      return { until, reason: text('ext-reason') };
    }
    case 'suspend':
      if (!text('suspend-reason')) { bad.push(fieldError('suspend-reason', 'suspend-reason-err', '请填写挂起原因')); break; }
      return { reason: text('suspend-reason') };
    case 'resume':
      return { reason: text('resume-reason') };
    case 'request_return':
      if (!text('return-reason')) { bad.push(fieldError('return-reason', 'return-reason-err', '请填写退单理由')); break; }
      return { reason: text('return-reason') };
    default:
  }
  if (bad.length) bad[0].focus();
  return null;
}

const DONE = {
  reply: '已提交办结反馈，等待热线中心审核。',
  request_extension: '已提交延期申请，等待热线中心审批。',
  suspend: '已挂起，办理期限暂停计算。',
  resume: '已恢复办理。',
  request_return: '已提交退单申请，等待热线中心审核。',
};

async function submitForm(form) {
  const action = form.dataset.act;
  const body = validate(form);
  if (!body) return;
  form.dataset.submitting = '1';
  try {
    if (action === 'reply') {
      const files = [...$('reply-photos').files];
      if (files.length && !form.dataset.uploaded) {
        status(`正在上传 ${files.length} 张照片…`);
        const fd = new FormData();
        for (const f of files) fd.append('file', f, f.name);
        fd.append('note', '办结反馈照片');
        try {
          await api('POST', `/api/v1/cases/${encodeURIComponent(openId)}/attachments`, fd);
        } catch (e) {
          fieldError('reply-photos', 'reply-photos-err', `照片上传失败：${e.message}`).focus();
          status('照片上传失败，反馈尚未提交。', true);
          return;
        }
        form.dataset.uploaded = '1'; // a retry of the reply does not upload them again
      }
    }
    status('正在提交…');
    await act(action, body, DONE[action]);
    resetForm(form);
    closeForm(form, false);
    $('action-status').focus();
  } catch (e) {
    status(`${ACTIONS[action]}失败：${e.message}`, true);
    if (e.fields && e.fields.includes('reason')) {
      const ta = form.querySelector('textarea[name="reason"]');
      if (ta) ta.focus();
    }
  } finally {
    delete form.dataset.submitting;
  }
}

// ---- navigation ----------------------------------------------------------------

$('queue').addEventListener('click', (ev) => {
  const a = ev.target.closest('a.card-link');
  if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  openCase(a.dataset.id, { push: true });
});

$('case-back').addEventListener('click', (ev) => {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  closeCase({ push: true });
});

window.addEventListener('popstate', () => {
  const m = location.pathname.match(/^\/work\/cases\/([0-9a-fA-F-]{36})$/);
  if (m) openCase(m[1], { focus: true });
  else if (openId) closeCase();
});

$('logout').addEventListener('click', (ev) => busy(ev.currentTarget, async () => {
  try { await api('DELETE', '/api/v1/session'); } catch { /* signed out anyway */ }
  location.assign('/login');
}));

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    if (!ws) connect();
    loadQueue();
  }
});

// The words of the deadlines change with time; the lights need the
// server's working-time calendar, so the queue is fetched again now and then.
setInterval(() => {
  renderQueue();
  if (current) deadlineLine(current);
}, 60e3);
setInterval(loadQueue, 5 * 60e3);

$('action-status').setAttribute('tabindex', '-1');
$('queue-title').setAttribute('tabindex', '-1');
main.dataset.ready = '1';
loadQueue();
if (main.dataset.case) openCase(main.dataset.case, { focus: true });
connect();
