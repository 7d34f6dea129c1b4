// The hotline agents' console (/console): screen-pops of incoming calls,
// the case form pre-filled by triage, the knowledge panel, 派单 with the
// routing decision and its reasons, the live work queues, and presence on
// cases. Everything comes from the JSON API with the user's session and
// the stream /console/ws; data only ever reaches the page through
// textContent and attributes.

import { api, ApiError, whenSignedOut } from './agent-api.js';
import { Stream } from './agent-stream.js';
import { Knowledge, sourceLine } from './agent-kb.js';
import { $, el, when, clock, groupNo, announce, debounce, store, fieldError } from './agent-util.js';

const main = $('main');
const me = { username: main.dataset.username, role: main.dataset.role };

// Labels of the API's codes.
const ACTION_LABELS = {
  register: '受理登记', answer: '直接答复', submit: '转派单', dispatch: '派单', sign: '签收', request_return: '申请退单',
  approve_return: '同意退单', reject_return: '驳回退单', request_extension: '申请延期', approve_extension: '同意延期',
  reject_extension: '驳回延期', suspend: '挂起', resume: '恢复办理', reply: '办结反馈', approve_review: '办结审核通过',
  reject_review: '办结审核退回', callback: '回访', redo: '重办', urge: '督办', escalate: '升级至县级办理', merge: '并单',
  follow_parent: '随主件办结', note: '补充说明',
};
const URGENCY = { normal: '一般', urgent: '紧急', emergency: '特急' };
const CHANNELS = { phone: '电话', web: '网站', app: '移动应用', grid: '网格员上报', kiosk: '自助终端', open311: 'Open311', console: '人工登记' };
const ROLES = { agent: '话务员', dispatcher: '派单员', supervisor: '督办员', officer: '承办人员', admin: '管理员', grid: '网格员', system: '系统', citizen: '市民' };
const LIGHTS = { green: '正常', yellow: '即将超期', red: '已超期' };
const SATISFACTION = { satisfied: '满意', basic: '基本满意', dissatisfied: '不满意', unreachable: '未联系上' };

// The case actions offered below a case (派单 and 直接答复 have their own
// buttons). reason: 'required' | 'optional'.
const CASE_ACTIONS = [
  ['submit', { label: '转待派单', reason: 'optional' }],
  ['approve_return', { label: '同意退单', reason: 'optional' }],
  ['reject_return', { label: '驳回退单', reason: 'required' }],
  ['approve_extension', { label: '同意延期', reason: 'optional' }],
  ['reject_extension', { label: '驳回延期', reason: 'required' }],
  ['approve_review', { label: '办结审核通过', reason: 'optional' }],
  ['reject_review', { label: '审核退回', reason: 'required' }],
  ['callback', { label: '回访', reason: 'optional', callback: true }],
  ['urge', { label: '督办', reason: 'required', until: true }],
  ['escalate', { label: '升级至县级', reason: 'required', path: 'escalate' }],
  ['suspend', { label: '挂起', reason: 'required' }],
  ['resume', { label: '恢复办理', reason: 'optional' }],
  ['merge', { label: '并单', reason: 'required', parent: true }],
  ['note', { label: '补充说明', reason: 'required', public: true }],
];
const ACTION_SPEC = new Map(CASE_ACTIONS);

// Which queues a step may change: by the states it leaves and enters.
const STATE_QUEUES = {
  registered: ['dispatch'], pending_dispatch: ['dispatch'], pending_sign: ['overdue'], in_progress: ['extensions', 'overdue'],
  return_requested: ['returns', 'overdue'], pending_review: ['review'], pending_callback: ['callbacks'], suspended: ['extensions'],
};

const categoryNames = new Map([...$('f-category').options].filter((o) => o.value).map((o) => [o.value, o.textContent]));

const state = {
  mode: 'none', // 'none' | 'new' | 'case'
  case: null, // the open case (CaseJSON)
  call: null, // {callId, popId} of a new case taken from a call
  kbSource: null, // {id, version, title} of the answer inserted into the reply
  openId: null, // the case announced on the stream as open
  editing: false,
  online: new Map(),
  onCase: new Map(), // case id → [{username, name, editing}]
};

// ---------------------------------------------------------------- divisions

const divisionCache = new Map();
function divisions(parent) {
  if (!divisionCache.has(parent)) {
    divisionCache.set(parent, api('GET', `/api/v1/divisions?parent=${encodeURIComponent(parent)}`)
      .then((j) => (j && j.divisions) || [])
      .catch(() => { divisionCache.delete(parent); return null; }));
  }
  return divisionCache.get(parent);
}

const cityNames = new Map([...$('f-city').options].filter((o) => o.value).map((o) => [o.value, o.textContent]));

// placeName: "杭州市 西湖区 文新街道" for a township or county code.
async function placeName(code) {
  if (!code) return '';
  const names = [cityNames.get(code.slice(0, 4)) || ''];
  if (code.length >= 6) {
    const counties = await divisions(code.slice(0, 4));
    const c = counties && counties.find((d) => d.code === code.slice(0, 6));
    names.push(c ? c.name : code.slice(0, 6));
  }
  if (code.length === 9) {
    const towns = await divisions(code.slice(0, 6));
    const t = towns && towns.find((d) => d.code === code);
    names.push(t ? t.name : code);
  }
  return names.filter(Boolean).join(' ');
}

// The city → county → township picker of the case form.
function placePicker(city, county, township, onTouch) {
  function fill(select, list, first) {
    const keep = select.value;
    select.replaceChildren(new Option(first, ''), ...list.map((d) => new Option(d.name, d.code)));
    select.value = keep;
    if (select.value !== keep) select.value = '';
  }
  async function counties(c) {
    township.replaceChildren(new Option('请先选择县（市、区）', ''));
    township.disabled = true;
    if (!c) {
      county.replaceChildren(new Option('请先选择市', ''));
      county.disabled = true;
      return;
    }
    const list = await divisions(c);
    if (!list) return;
    fill(county, list, '请选择');
    county.disabled = false;
  }
  async function townships(c) {
    if (!c) {
      township.replaceChildren(new Option('请先选择县（市、区）', ''));
      township.disabled = true;
      return;
    }
    const list = await divisions(c);
    if (!list) return;
    fill(township, list, '请选择');
    township.disabled = false;
  }
  city.addEventListener('change', async () => { onTouch(); county.value = ''; await counties(city.value); });
  county.addEventListener('change', async () => { onTouch(); township.value = ''; await townships(county.value); });
  township.addEventListener('change', onTouch);
  return {
    async select(code) {
      const c4 = code.slice(0, 4), c6 = code.slice(0, 6);
      if (city.value !== c4) {
        city.value = c4;
        if (city.value !== c4) return false;
        county.value = '';
        await counties(c4);
      }
      if (code.length >= 6 && county.value !== c6) {
        county.value = c6;
        if (county.value !== c6) return false;
        township.value = '';
        await townships(c6);
      }
      if (code.length === 9) township.value = code;
      return true;
    },
    value() {
      return { township_code: township.value || '', county_code: county.value || '' };
    },
    async reset() {
      city.value = '';
      await counties('');
    },
  };
}

// ---------------------------------------------------------------- stream

const stream = new Stream({
  onState: showConnection,
  onHello: () => {
    // The server forgets a connection's case on reconnect: tell it again.
    if (state.openId) {
      stream.send({ type: 'open', case_id: state.openId });
      if (state.editing) stream.send({ type: 'editing', case_id: state.openId, editing: true });
    }
  },
  onMessage: (m) => {
    switch (m.type) {
      case 'hello':
        if (!helloSeen) {
          helloSeen = true;
          reloadQueues(); // what changed between loading the page and connecting
        }
        break;
      case 'event': if (m.event) onEvent(m.event, m.pos); break;
      case 'screenpop': if (m.pop) onPop(m.pop, true); break;
      case 'presence': onPresence(m); break;
      case 'resync':
        reloadQueues();
        if (state.case) reloadCase();
        break;
    }
  },
});
let helloSeen = false;

function showConnection(s, secs) {
  const conn = $('conn');
  conn.dataset.state = s;
  $('conn-text').textContent = s === 'online' ? '在线' : s === 'connecting' ? '连接中…' : s === 'offline' ? '已断开'
    : secs ? `重新连接中（${secs} 秒后重试）` : '重新连接中…';
}

// ---------------------------------------------------------------- feed

const feedSeen = new Set();
function addFeed(pos, text, cls) {
  if (pos && feedSeen.has(pos)) return;
  if (pos) feedSeen.add(pos);
  const feed = $('feed');
  feed.prepend(el('li', { class: cls || '', dataset: { pos: String(pos || '') } }, text));
  while (feed.children.length > 50) feed.lastElementChild.remove();
}

function onEvent(ev, pos) {
  const unit = ev.unit_name ? `（${ev.unit_name}）` : '';
  addFeed(pos, `${clock(ev.at)} ${ev.label || ACTION_LABELS[ev.action] || ev.action}${unit}：${groupNo(ev.tracking_no)} ${ev.title || ''} → ${ev.state_label || ''}`);
  const qs = new Set([...(STATE_QUEUES[ev.from] || []), ...(STATE_QUEUES[ev.to] || [])]);
  if (/extension/.test(ev.action)) qs.add('extensions');
  if (ev.action === 'urge' || ev.action === 'escalate') qs.add('overdue');
  for (const q of qs) if (queueNames.includes(q)) refetchQueue(q);
  if (state.case && ev.case_id === state.case.id) reloadCase();
}

// ---------------------------------------------------------------- screen-pops

const pops = new Map(); // id → pop
const POP_FLOOR = `yici.console.popfloor.${me.username}`;
const POP_DONE = `yici.console.popdone.${me.username}`;
const POP_WINDOW = 8 * 3600 * 1000; // a shift: older pops are not shown
const popDone = new Map(Object.entries(safeJSON(store.get('sessionStorage', POP_DONE)) || {})); // id → tracking no or '' (dismissed)

function safeJSON(s) { try { return JSON.parse(s); } catch { return null; } }
function savePopDone() {
  const entries = [...popDone.entries()].slice(-100);
  store.set('sessionStorage', POP_DONE, JSON.stringify(Object.fromEntries(entries)));
}

async function loadPops() {
  let after = Number(store.get('localStorage', POP_FLOOR)) || 0;
  let floor = after;
  for (let page = 0; page < 50; page++) {
    let res;
    try {
      res = await api('GET', `/api/v1/cti/screenpops?after=${after}`);
    } catch {
      return;
    }
    const list = (res && res.screenpops) || [];
    for (const p of list) {
      after = Math.max(after, p.id);
      if (Date.now() - new Date(p.created_at).getTime() > POP_WINDOW) floor = Math.max(floor, p.id);
      else onPop(p, false);
    }
    if (list.length < 100) break;
  }
  store.set('localStorage', POP_FLOOR, String(floor));
}

function onPop(p, live) {
  if (!p || !p.id || pops.has(p.id)) return;
  const pop = { id: p.id, callId: p.call_id || '', caller: p.caller || '', history: Array.isArray(p.history) ? p.history : [], at: p.at || p.created_at };
  pops.set(pop.id, pop);
  renderPops();
  if (live) {
    const text = `来电 ${pop.caller || '未知号码'}，近期工单 ${pop.history.length} 件`;
    addFeed(null, `${clock(pop.at)} ${text}`, 'feed-call');
    announce(`${text}。按 Alt+P 转到来电。`);
  }
}

function renderPops() {
  const list = [...pops.values()].filter((p) => popDone.get(String(p.id)) !== '').sort((a, b) => b.id - a.id).slice(0, 5);
  $('pops-empty').hidden = list.length > 0;
  $('pops').replaceChildren(...list.map(popItem));
}

function popItem(p) {
  const done = popDone.get(String(p.id));
  const hist = p.history.map((h) => el('li', {},
    el('span', { class: 'no', text: groupNo(h.tracking_no) }), ' ',
    h.title ? el('span', { class: 'hist-title', text: h.title }) : el('span', { class: 'hist-title muted', text: '（内容保密）' }), ' ',
    el('span', { class: 'state', text: h.state_label || h.state || '' }),
    h.date ? el('span', { class: 'muted', text: ` ${h.date}` }) : null));
  const open = el('button', { type: 'button', class: 'pop-open', 'aria-keyshortcuts': 'Enter' }, done ? '再建一单' : '新建工单');
  open.addEventListener('click', () => newCase({ phone: p.caller, callId: p.callId, popId: p.id }));
  const dismiss = el('button', { type: 'button', class: 'secondary pop-dismiss', 'aria-label': `关闭来电 ${p.caller} 的提示` }, '关闭');
  dismiss.addEventListener('click', () => {
    popDone.set(String(p.id), '');
    savePopDone();
    renderPops();
    const next = document.querySelector('#pops .pop-open');
    if (next) next.focus();
  });
  return el('li', { class: `pop${done ? ' pop-done' : ''}`, dataset: { id: String(p.id) } },
    el('p', { class: 'pop-head' }, el('strong', { class: 'pop-phone', text: p.caller || '未知号码' }), ' ', el('span', { class: 'muted', text: clock(p.at) })),
    el('p', { class: 'pop-call muted', text: `通话 ${p.callId}` }),
    done ? el('p', { class: 'pop-status', text: `已建单 ${groupNo(done)}` }) : null,
    el('p', { class: 'pop-hist-h', text: p.history.length ? `近 90 天工单 ${p.history.length} 件：` : '近 90 天无工单' }),
    p.history.length ? el('ul', { class: 'pop-hist' }, hist) : null,
    el('div', { class: 'bar' }, open, dismiss));
}

function focusPop() {
  const b = document.querySelector('#pops .pop-open');
  if (b) {
    b.focus();
    return;
  }
  $('calls-h').setAttribute('tabindex', '-1');
  $('calls-h').focus();
}

// ---------------------------------------------------------------- queues

const tabs = [...document.querySelectorAll('[role="tab"][data-queue]')];
const queueNames = tabs.map((t) => t.dataset.queue);
const queueData = new Map();
const queueErrors = new Map();
let currentQueue = queueNames[0] || '';
const refetchers = new Map();

async function loadQueue(name) {
  try {
    const res = await api('GET', `/api/v1/queues/${name}?limit=200`);
    queueData.set(name, (res && res.items) || []);
    queueErrors.delete(name);
  } catch (e) {
    queueErrors.set(name, e.message);
  }
  const count = $(`count-${name}`);
  if (count) count.textContent = queueData.has(name) ? String(queueData.get(name).length) : '!';
  if (name === currentQueue) renderQueue();
}

function refetchQueue(name) {
  if (!refetchers.has(name)) refetchers.set(name, debounce(() => loadQueue(name), 250));
  refetchers.get(name)();
}

function reloadQueues() { return Promise.all(queueNames.map(loadQueue)); }

function selectQueue(name, focusTab) {
  if (!queueNames.includes(name)) return;
  currentQueue = name;
  for (const t of tabs) {
    const on = t.dataset.queue === name;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    if (on && focusTab) t.focus();
  }
  $('queue-panel').setAttribute('aria-labelledby', `tab-${name}`);
  renderQueue();
}

for (const t of tabs) {
  t.addEventListener('click', () => selectQueue(t.dataset.queue, true));
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    let j = -1;
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') j = (i + tabs.length - 1) % tabs.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = tabs.length - 1;
    if (j < 0) return;
    e.preventDefault();
    selectQueue(tabs[j].dataset.queue, true);
  });
}

const filter = $('queue-filter');
filter.addEventListener('input', () => renderQueue());

function others(caseId) {
  return (state.onCase.get(caseId) || []).filter((u) => u.username !== me.username);
}

function presenceText(list) {
  if (!list.length) return '';
  const names = list.map((u) => u.name || u.username).join('、');
  return list.some((u) => u.editing) ? `${names} 正在编辑此工单` : `${names} 正在处理此工单`;
}

function renderQueue() {
  const list = $('queue-list');
  const status = $('queue-status');
  const items = queueData.get(currentQueue);
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
  if (!items) {
    status.textContent = queueErrors.get(currentQueue) || '正在加载…';
    list.replaceChildren();
    return;
  }
  const f = filter.value.trim().toLowerCase();
  const compact = f.replace(/\s+/g, '');
  const matches = (it) => it.tracking_no.includes(compact) || [it.title, it.lead_name, it.lead, categoryNames.get(it.category)]
    .some((s) => s && String(s).toLowerCase().includes(f));
  const shown = f ? items.filter(matches) : items;
  const err = queueErrors.get(currentQueue);
  status.textContent = (err ? `刷新失败：${err}。` : '') + (f ? `共 ${items.length} 件，筛选出 ${shown.length} 件` : `共 ${items.length} 件`);
  list.replaceChildren(...shown.map(queueRow));
  if (focused) {
    const again = list.querySelector(`button[data-id="${CSS.escape(focused)}"]`) || list.querySelector('button.row');
    if (again) again.focus();
  }
}

function queueRow(it) {
  const due = it.state === 'pending_sign' && it.sign_due ? it.sign_due : it.due_at;
  const meta = [it.kind, categoryNames.get(it.category) || it.category, it.urgency !== 'normal' ? URGENCY[it.urgency] : '',
    it.lead_name ? `主办：${it.lead_name}` : '', due ? `期限 ${when(due)}` : ''].filter(Boolean).join(' · ');
  const extra = [];
  if (currentQueue === 'extensions' && it.ext_until) extra.push(`申请延期至 ${when(it.ext_until)}${it.ext_reason ? `：${it.ext_reason}` : ''}`);
  if (it.return_count) extra.push(`退单 ${it.return_count} 次`);
  if (it.urge_count) extra.push(`督办 ${it.urge_count} 次`);
  if (it.redo_count) extra.push(`重办 ${it.redo_count} 次`);
  const who = presenceText(others(it.id));
  const b = el('button', { type: 'button', class: 'row', dataset: { id: it.id } },
    el('span', { class: 'row-top' },
      el('span', { class: 'no', text: groupNo(it.tracking_no) }),
      due ? el('span', { class: `light light-${it.light}`, text: LIGHTS[it.light] || '' }) : null,
      el('span', { class: 'state', text: it.state_label })),
    el('span', { class: 'row-title', text: it.title || '（无标题）' }),
    el('span', { class: 'row-meta', text: meta }),
    extra.length ? el('span', { class: 'row-meta', text: extra.join(' · ') }) : null,
    who ? el('span', { class: 'row-presence', text: who }) : null);
  b.addEventListener('click', () => openCase(it.id));
  return el('li', {}, b);
}

// Up and down move between rows, pops and knowledge results.
function arrowList(container, selector) {
  container.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const items = [...container.querySelectorAll(selector)];
    const i = items.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    const j = e.key === 'ArrowDown' ? Math.min(items.length - 1, i + 1) : Math.max(0, i - 1);
    items[j].focus();
  });
}
arrowList($('queue-list'), 'button.row');
arrowList($('pops'), 'button.pop-open');
filter.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown') {
    const first = $('queue-list').querySelector('button.row');
    if (first) { e.preventDefault(); first.focus(); }
  }
});

function focusQueue() {
  const t = tabs.find((x) => x.dataset.queue === currentQueue);
  if (t) t.focus();
}

// ---------------------------------------------------------------- presence

function onPresence(m) {
  if (m.full) {
    state.online.clear();
    state.onCase.clear();
  }
  for (const u of m.online || []) state.online.set(u.username, u);
  for (const u of m.joined || []) state.online.set(u.username, u);
  for (const name of m.left || []) state.online.delete(name);
  for (const [id, list] of Object.entries(m.cases || {})) {
    if (Array.isArray(list) && list.length) state.onCase.set(id, list);
    else state.onCase.delete(id);
  }
  const people = [...state.online.values()];
  $('online-count').textContent = String(people.length);
  $('online-list').replaceChildren(...people.map((u) => el('li', { text: `${u.name || u.username}（${ROLES[u.role] || u.role}）` })));
  renderCasePresence();
  renderQueue();
}

function renderCasePresence() {
  const box = $('case-presence');
  const text = state.case ? presenceText(others(state.case.id)) : '';
  box.textContent = text;
  box.hidden = !text;
}

function sendOpen(id) {
  state.openId = id;
  state.editing = false;
  stream.send({ type: 'open', case_id: id });
}

function sendClose() {
  if (!state.openId) return;
  state.openId = null;
  state.editing = false;
  stream.send({ type: 'close' });
}

const stopEditing = debounce(() => {
  if (state.editing && state.openId) {
    state.editing = false;
    stream.send({ type: 'editing', case_id: state.openId, editing: false });
  }
}, 5000);

function typing() {
  if (!state.openId) return;
  if (!state.editing) {
    state.editing = true;
    stream.send({ type: 'editing', case_id: state.openId, editing: true });
  }
  stopEditing();
}
for (const id of ['case-view', 'reply-box', 'dispatch']) $(id).addEventListener('input', typing);

// ---------------------------------------------------------------- the work area

const form = $('case-form');
const f = {
  phone: $('f-phone'), name: $('f-name'), anon: $('f-anon'), content: $('f-content'), kind: $('f-kind'),
  urgency: $('f-urgency'), category: $('f-category'), address: $('f-address'),
};
const reply = $('reply');
const touched = { kind: false, urgency: false, category: false, place: false };
const place = placePicker($('f-city'), $('f-county'), $('f-township'), () => { touched.place = true; });
f.kind.addEventListener('change', () => { touched.kind = true; });
f.urgency.addEventListener('change', () => { touched.urgency = true; });
f.category.addEventListener('change', () => { touched.category = true; pressChips(); });
form.addEventListener('submit', (e) => e.preventDefault());

const kb = new Knowledge({ onInsert: insertAnswer });

// say shows a short message under the case's buttons and reads it out.
function say(text) {
  $('work-status').textContent = text;
  announce(text);
}

function setMode(mode) {
  state.mode = mode;
  $('work-empty').hidden = mode !== 'none';
  form.hidden = mode !== 'new';
  $('case-view').hidden = mode !== 'case';
  $('work-bar').hidden = mode === 'none';
  $('btn-save').hidden = mode !== 'new';
  $('btn-close').textContent = mode === 'new' ? '取消' : '关闭工单';
  const allowed = mode === 'case' ? state.case.allowed || [] : [];
  $('btn-dispatch').hidden = !(mode === 'new' || allowed.includes('dispatch'));
  $('btn-answer').hidden = !(mode === 'new' || allowed.includes('answer'));
  $('reply-box').hidden = !(mode === 'new' || allowed.includes('answer'));
  if (mode !== 'case') closeDispatch(false);
  $('work-h').textContent = mode === 'new' ? '新建工单' : mode === 'case' ? `工单 ${groupNo(state.case.tracking_no)}` : '工单';
}

function clearErrors() {
  for (const p of document.querySelectorAll('#case-form .field-error, #reply-box .field-error')) p.hidden = true;
  for (const i of document.querySelectorAll('#case-form [aria-invalid], #reply')) i.removeAttribute('aria-invalid');
  $('form-error').hidden = true;
}

async function newCase({ phone = '', callId = '', popId = null } = {}) {
  sendClose();
  state.case = null;
  state.call = callId ? { callId, popId } : null;
  state.kbSource = null;
  form.reset();
  clearErrors();
  for (const k of Object.keys(touched)) touched[k] = false;
  lastTriaged = '';
  $('category-chips').hidden = true;
  $('category-chips').replaceChildren();
  $('triage-status').textContent = '';
  reply.value = '';
  $('reply-source').textContent = '';
  f.phone.value = phone;
  $('work-status').textContent = '';
  $('form-call').hidden = !callId;
  $('form-call').textContent = callId ? `关联来电：${callId}（保存后工单与通话记录关联）` : '';
  await place.reset();
  kb.reset();
  setMode('new');
  history.replaceState(null, '', location.pathname);
  (phone ? f.content : f.phone).focus();
}
$('btn-new').addEventListener('click', () => newCase());

// Triage as the agent types.
let lastTriaged = '', triageCtrl = null;
const runTriage = debounce(async () => {
  const text = f.content.value.trim();
  if (Array.from(text).length < 4 || text === lastTriaged || state.mode !== 'new') return;
  lastTriaged = text;
  if (triageCtrl) triageCtrl.abort();
  triageCtrl = new AbortController();
  let res;
  try {
    res = await api('POST', '/api/v1/triage', { text, channel: 'phone' }, { signal: triageCtrl.signal });
  } catch {
    return; // the agent picks by hand
  }
  if (state.mode !== 'new') return;
  await applyTriage(res);
}, 400);

f.content.addEventListener('input', () => {
  runTriage();
  kb.fromContent(f.content.value);
});

async function applyTriage(res) {
  const said = [];
  const top = (res.top3 || []).filter((t) => t.code && categoryNames.has(t.code));
  const chips = $('category-chips');
  chips.replaceChildren(...top.map((t) => {
    const b = el('button', { type: 'button', class: 'chip', dataset: { code: t.code } }, categoryNames.get(t.code));
    b.addEventListener('click', () => { f.category.value = t.code; touched.category = true; pressChips(); });
    return b;
  }));
  chips.hidden = top.length === 0;
  if (top.length && !touched.category) {
    f.category.value = top[0].code;
    said.push(`类别“${categoryNames.get(top[0].code)}”`);
  }
  pressChips();
  if (res.kind && !touched.kind && [...f.kind.options].some((o) => o.value === res.kind)) {
    f.kind.value = res.kind;
    said.push(`类型“${res.kind}”`);
  }
  if (res.urgency && !touched.urgency && URGENCY[res.urgency]) {
    f.urgency.value = res.urgency;
    if (res.urgency !== 'normal') said.push(`紧急程度“${URGENCY[res.urgency]}”`);
  }
  const code = res.township_code || res.county_code;
  if (code && !touched.place && await place.select(code)) {
    said.push(`地点“${res.township_name || res.county_name || code}”`);
  }
  $('triage-status').textContent = said.length ? `系统建议：${said.join('、')}。请核对后保存，可以修改。` : '';
}

function pressChips() {
  for (const b of $('category-chips').children) b.setAttribute('aria-pressed', String(b.dataset.code === f.category.value));
}

// save registers the new case; it resolves to the case, or null.
let saving = null;
function save() {
  if (state.mode === 'case') return Promise.resolve(state.case);
  if (state.mode !== 'new') return Promise.resolve(null);
  if (!saving) saving = doSave().finally(() => { saving = null; });
  return saving;
}

async function doSave() {
  clearErrors();
  const bad = [];
  if (!f.content.value.trim()) bad.push([f.content, $('err-content'), '请填写诉求内容']);
  if (!f.kind.value) bad.push([f.kind, $('err-kind'), '请选择诉求类型']);
  if (bad.length) {
    for (const [i, b, m] of bad) fieldError(i, b, m);
    bad[0][0].focus();
    announce(bad.map((b) => b[2]).join('；'));
    return null;
  }
  const where = place.value();
  const body = {
    kind: f.kind.value, category: f.category.value, content: f.content.value, address: f.address.value.trim(),
    urgency: f.urgency.value, township_code: where.township_code, county_code: where.county_code,
    citizen_name: f.name.value.trim(), citizen_phone: f.phone.value.trim(), anonymous: f.anon.checked,
  };
  if (state.call) body.call_id = state.call.callId;
  let c;
  try {
    c = await api('POST', '/api/v1/cases', body);
  } catch (e) {
    showErrors(e);
    return null;
  }
  if (state.call && state.call.popId) {
    popDone.set(String(state.call.popId), c.tracking_no);
    savePopDone();
    renderPops();
  }
  showCase(c, { keepReply: true });
  say(`已登记，受理编号 ${groupNo(c.tracking_no)}`);
  return c;
}

function showErrors(e) {
  const fields = { content: f.content, kind: f.kind, category: f.category, township_code: $('f-township'), citizen_phone: f.phone };
  let first = null;
  const rest = [];
  for (const er of (e && e.errors) || []) {
    const input = fields[er.field];
    if (input) {
      fieldError(input, $(`err-${er.field}`), er.message_zh || er.message_en);
      first = first || input;
    } else {
      rest.push(er.message_zh || er.message_en);
    }
  }
  if (rest.length || !first) {
    $('form-error').textContent = `保存未成功：${rest.length ? rest.join('；') : e.message}`;
    $('form-error').hidden = false;
  }
  if (first) first.focus();
  announce(`保存未成功：${e.message}`);
}

// ---------------------------------------------------------------- a case

async function openCase(id) {
  let c;
  try {
    c = await api('GET', `/api/v1/cases/${encodeURIComponent(id)}`);
  } catch (e) {
    say(e.status === 404 ? '工单不存在或您无权查看' : `无法打开工单：${e.message}`);
    return;
  }
  showCase(c);
}

const reloadCase = debounce(async () => {
  if (!state.case) return;
  const id = state.case.id;
  try {
    const c = await api('GET', `/api/v1/cases/${encodeURIComponent(id)}`);
    if (state.case && state.case.id === id) showCase(c, { keepReply: true, focus: false });
  } catch { /* shown on the next action */ }
}, 300);

function showCase(c, { keepReply = false, focus = true } = {}) {
  const opening = !state.case || state.case.id !== c.id;
  state.case = c;
  if (opening) {
    $('work-status').textContent = '';
    sendOpen(c.id);
    closeDispatch(false);
    closeActForm(false);
    if (!keepReply) {
      reply.value = '';
      state.kbSource = null;
      $('reply-source').textContent = '';
      kb.reset();
    }
    history.replaceState(null, '', `#case=${c.id}`);
  }
  setMode('case');
  renderCase(c);
  renderCasePresence();
  loadEvents(c.id);
  const spec = actForm.dataset.action;
  if (spec && !(c.allowed || []).includes(spec)) {
    closeActForm(false);
    say('工单状态已变化，原操作已不可用');
  }
  if (focus) $('work-h').focus();
}

function renderCase(c) {
  $('case-no').textContent = groupNo(c.tracking_no);
  $('case-state').textContent = c.state_label;
  const lead = (c.assignments || []).filter((a) => a.role === 'lead' && a.state !== 'returned' && a.state !== 'closed').pop();
  const co = (c.assignments || []).filter((a) => a.role === 'co' && a.state !== 'returned' && a.state !== 'closed');
  const rows = [
    ['类型', c.kind], ['类别', categoryNames.get(c.category) || c.category || '未选择'], ['紧急程度', URGENCY[c.urgency] || c.urgency],
    ['地点', c.township_code || c.county_code || '未确定'], ['详细地址', c.address],
    ['来电人', c.anonymous ? `匿名${c.citizen_phone ? `（${c.citizen_phone}）` : ''}` : [c.citizen_name, c.citizen_phone].filter(Boolean).join(' ')],
    ['渠道', CHANNELS[c.channel] || c.channel], ['受理时间', when(c.created_at)], ['签收期限', when(c.sign_due)], ['办结期限', when(c.due_at)],
    ['主办单位', lead ? `${lead.unit_name || lead.unit_id}（${lead.unit_id}）` : ''], ['协办单位', co.map((a) => a.unit_name || a.unit_id).join('、')],
    ['延期申请', c.ext_until ? `至 ${when(c.ext_until)}${c.ext_reason ? `：${c.ext_reason}` : ''}` : ''],
    ['答复', c.reply], ['回访', c.satisfaction ? `${SATISFACTION[c.satisfaction] || c.satisfaction}${c.solved === true ? '，已解决' : c.solved === false ? '，未解决' : ''}` : ''],
    ['退单/重办/督办', (c.return_count || c.redo_count || c.urge_count) ? `${c.return_count} / ${c.redo_count} / ${c.urge_count} 次` : ''],
    ['诉求内容', c.content],
  ];
  const dl = $('case-fields');
  dl.replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { class: k === '诉求内容' || k === '答复' ? 'long' : '', dataset: { field: k }, text: v })]));
  const code = c.township_code || c.county_code;
  if (code) {
    placeName(code).then((name) => {
      const dd = dl.querySelector('dd[data-field="地点"]');
      if (dd && name && state.case && state.case.id === c.id) dd.textContent = `${name}（${code}）`;
    });
  }
  const actions = $('case-actions');
  const had = actions.contains(document.activeElement) ? document.activeElement.id : '';
  actions.replaceChildren(...CASE_ACTIONS.filter(([a]) => (c.allowed || []).includes(a)).map(([a, spec]) => {
    const b = el('button', { type: 'button', class: 'secondary', id: `act-${a}`, dataset: { action: a } }, spec.label);
    b.addEventListener('click', () => openActForm(a));
    return b;
  }));
  if (had && $(had)) $(had).focus(); // a live update keeps the agent's place
}

async function loadEvents(id) {
  let res;
  try {
    res = await api('GET', `/api/v1/cases/${encodeURIComponent(id)}/events`);
  } catch {
    return;
  }
  if (!state.case || state.case.id !== id) return;
  $('case-events').replaceChildren(...((res && res.events) || []).slice().reverse().map((e) => el('li', {},
    el('span', { class: 'muted', text: when(e.at) }), ' ',
    el('strong', { text: ACTION_LABELS[e.action] || e.action }), ' ',
    el('span', { text: [e.actor_name, ROLES[e.actor_role] ? `（${ROLES[e.actor_role]}）` : ''].join('') }),
    e.reason ? el('span', { class: 'reason', text: `：${e.reason}` }) : null,
    e.public ? null : el('span', { class: 'muted', text: ' 〔内部〕' }))));
}

function closeCase() {
  sendClose();
  state.case = null;
  state.call = null;
  closeActForm(false);
  setMode('none');
  $('work-status').textContent = '';
  history.replaceState(null, '', location.pathname);
  $('btn-new').focus();
}
$('btn-close').addEventListener('click', closeCase);

// ---------------------------------------------------------------- action forms

const actForm = $('act-form');

function openActForm(action) {
  const spec = ACTION_SPEC.get(action);
  if (!spec || !state.case) return;
  actForm.dataset.action = action;
  const parts = [el('h3', { id: 'act-h', tabindex: '-1', text: spec.label })];
  if (spec.callback) {
    parts.push(el('fieldset', {}, el('legend', { text: '满意度' }),
      ...['satisfied', 'basic', 'dissatisfied', 'unreachable'].map((v, i) => el('span', { class: 'choice' },
        el('input', { type: 'radio', name: 'satisfaction', id: `act-sat-${v}`, value: v, checked: i === 0 }),
        el('label', { for: `act-sat-${v}`, text: SATISFACTION[v] })))));
    parts.push(el('fieldset', {}, el('legend', { text: '问题是否解决' }),
      ...[['yes', '已解决'], ['no', '未解决'], ['', '未说明']].map(([v, l], i) => el('span', { class: 'choice' },
        el('input', { type: 'radio', name: 'solved', id: `act-solved-${v || 'na'}`, value: v, checked: i === 0 }),
        el('label', { for: `act-solved-${v || 'na'}`, text: l })))));
  }
  if (spec.parent) {
    parts.push(el('div', { class: 'field' }, el('label', { for: 'act-parent', text: '主件受理编号' }),
      el('input', { id: 'act-parent', autocomplete: 'off', inputmode: 'numeric', 'aria-describedby': 'err-act-parent' }),
      el('p', { class: 'field-error', id: 'err-act-parent', hidden: true })));
  }
  if (spec.until) {
    parts.push(el('div', { class: 'field' }, el('label', { for: 'act-until', text: '要求回复日期（可选，当日 17:30 前）' }),
      el('input', { id: 'act-until', type: 'date' })));
  }
  if (spec.public) {
    parts.push(el('div', { class: 'field check' }, el('input', { type: 'checkbox', id: 'act-public' }),
      el('label', { for: 'act-public', text: '市民可见（显示在进度查询中）' })));
  }
  const label = spec.callback ? '回访情况（可选）' : spec.reason === 'required' ? '理由（必填）' : '说明（可选）';
  parts.push(el('div', { class: 'field' }, el('label', { for: 'act-reason', text: label }),
    el('textarea', { id: 'act-reason', rows: '2', maxlength: '2000', 'aria-describedby': 'err-act-reason', required: spec.reason === 'required' }),
    el('p', { class: 'field-error', id: 'err-act-reason', hidden: true })));
  parts.push(el('p', { class: 'form-error', id: 'act-error', role: 'alert', hidden: true }));
  parts.push(el('div', { class: 'bar' }, el('button', { type: 'submit', id: 'act-submit' }, `确认${spec.label}`),
    el('button', { type: 'button', class: 'secondary', id: 'act-cancel', onclick: () => closeActForm(true) }, '取消 ', el('kbd', { text: 'Esc' }))));
  actForm.replaceChildren(...parts);
  actForm.hidden = false;
  const first = actForm.querySelector('input:checked, input, textarea');
  (first || $('act-reason')).focus();
}

function closeActForm(refocus) {
  const action = actForm.dataset.action;
  actForm.hidden = true;
  actForm.replaceChildren();
  delete actForm.dataset.action;
  if (refocus && action) {
    const b = $(`act-${action}`);
    if (b) b.focus();
  }
}

actForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const action = actForm.dataset.action;
  const spec = ACTION_SPEC.get(action);
  if (!spec || !state.case) return;
  const reasonBox = $('act-reason');
  const reason = reasonBox.value.trim();
  fieldError(reasonBox, $('err-act-reason'), '');
  $('act-error').hidden = true;
  if (spec.reason === 'required' && !reason) {
    fieldError(reasonBox, $('err-act-reason'), `“${spec.label}”必须填写理由`);
    reasonBox.focus();
    return;
  }
  const body = { reason };
  if (spec.callback) {
    body.satisfaction = actForm.querySelector('input[name="satisfaction"]:checked').value;
    const solved = actForm.querySelector('input[name="solved"]:checked').value;
    if (solved) body.solved = solved === 'yes';
  }
  if (spec.parent) body.parent = $('act-parent').value.replace(/\s+/g, '');
  if (spec.until && $('act-until').value) body.until = `${$('act-until').value}T17:30:00+08:00`;
  if (spec.public) body.public = $('act-public').checked;
  const id = state.case.id;
  const path = spec.path ? `/api/v1/cases/${id}/${spec.path}` : `/api/v1/cases/${id}/${action}`;
  const submit = $('act-submit');
  submit.disabled = true;
  let c;
  try {
    c = await api('POST', path, spec.path ? { reason } : body);
  } catch (err) {
    submit.disabled = false;
    const why = err.field && (err.field('reason'));
    const parentWhy = err.field && err.field('parent');
    if (why) {
      fieldError(reasonBox, $('err-act-reason'), why);
      reasonBox.focus();
    } else if (parentWhy && $('act-parent')) {
      fieldError($('act-parent'), $('err-act-parent'), parentWhy);
      $('act-parent').focus();
    } else {
      $('act-error').textContent = err.message;
      $('act-error').hidden = false;
    }
    return;
  }
  closeActForm(false);
  showCase(c);
  say(`${spec.label}：已完成`);
});

// ---------------------------------------------------------------- 直接答复

function insertAnswer(src) {
  if ($('reply-box').hidden) {
    announce('当前工单不能直接答复');
    $('kb-status').textContent = '当前工单不能直接答复，未插入。';
    return;
  }
  const line = sourceLine(src);
  const before = reply.value.trim();
  reply.value = `${before ? `${before}\n\n` : ''}${src.text.trim()}\n${line}`;
  state.kbSource = { id: src.id, version: src.version, title: src.title, line };
  $('reply-source').textContent = `答复引用知识库：《${src.title}》${src.id ? `（编号 ${src.id}，第 ${src.version} 版）` : ''}`;
  fieldError(reply, $('err-reply'), '');
  reply.focus();
  reply.setSelectionRange(reply.value.length, reply.value.length);
  typing();
}

async function answer() {
  if (state.mode === 'none') return;
  const text = reply.value.trim();
  if (state.mode === 'case' && !(state.case.allowed || []).includes('answer')) {
    say(`工单当前状态（${state.case.state_label}）不能直接答复`);
    return;
  }
  if (!text) {
    fieldError(reply, $('err-reply'), '请填写答复内容（可从知识库插入）');
    reply.focus();
    return;
  }
  const c = await save();
  if (!c) return;
  if (!(c.allowed || []).includes('answer')) {
    say(`工单当前状态（${c.state_label}）不能直接答复`);
    return;
  }
  const btn = $('btn-answer');
  btn.disabled = true;
  let out;
  try {
    out = await api('POST', `/api/v1/cases/${c.id}/answer`, { reply: text });
  } catch (e) {
    fieldError(reply, $('err-reply'), e.field('reason') || e.field('reply') || e.message);
    reply.focus();
    return;
  } finally {
    btn.disabled = false;
  }
  const src = state.kbSource;
  if (src && src.id && src.version && text.includes(src.line)) {
    // Which article answered it: the knowledge base's use record (when the API has it).
    api('POST', '/api/v1/kb/uses', { case_id: c.id, article_id: src.id, version: src.version }).catch(() => {});
  }
  showCase(out);
  say(`已直接答复，工单 ${groupNo(out.tracking_no)} 已办结`);
}
$('btn-answer').addEventListener('click', answer);
$('btn-save').addEventListener('click', () => save());

// ---------------------------------------------------------------- 派单

const dispatchBox = $('dispatch');
let decision = null;
let unitsLoaded = '';

async function openDispatch() {
  if (state.mode === 'none') return;
  const c = await save();
  if (!c) return;
  if (!(c.allowed || []).includes('dispatch')) {
    say(`工单当前状态（${c.state_label}）不能派单`);
    return;
  }
  dispatchBox.hidden = false;
  $('route').hidden = true;
  $('route-status').textContent = '正在计算路由…';
  for (const id of ['err-ov-lead', 'err-ov-reason', 'dispatch-error']) $(id).hidden = true;
  $('ov-lead').removeAttribute('aria-invalid');
  $('ov-reason').removeAttribute('aria-invalid');
  $('dispatch-h').focus();
  let res;
  try {
    res = await api('GET', `/api/v1/cases/${c.id}/route`);
  } catch (e) {
    $('route-status').textContent = `无法获取路由决定：${e.message}`;
    return;
  }
  if (!state.case || state.case.id !== c.id || dispatchBox.hidden) return;
  decision = res.decision || {};
  renderDecision(decision);
  $('route-status').textContent = '';
  $('route').hidden = false;
  $('btn-route-go').focus();
  loadUnits(c, decision);
}

function renderDecision(d) {
  $('route-summary').textContent = d.summary || '';
  $('route-lead').textContent = d.lead ? `${d.lead_name || d.lead}（${d.lead}）` : '未确定';
  const co = (d.co || []).map((id, i) => `${(d.co_names || [])[i] || id}（${id}）`);
  $('route-co').textContent = co.length ? co.join('、') : '无';
  $('route-rule').textContent = [d.rule ? `规则 ${d.rule}` : '', d.rule_version ? `规则集第 ${d.rule_version} 版` : '', d.deadline ? `办理时限 ${d.deadline}` : ''].filter(Boolean).join('，');
  $('route-queue').hidden = !d.queue;
  $('route-steps').replaceChildren(...(d.steps || []).map((s) => el('li', { text: s })));
  const lost = d.lost || [];
  $('route-lost').replaceChildren(...(lost.length ? lost.map((l) => el('li', {},
    el('strong', { text: l.rule }), l.lead ? ` → ${l.lead}` : '', '：', l.why)) : [el('li', { class: 'muted', text: '无其他匹配的规则' })]));
}

// loadUnits offers the decision's candidates, and (for the roles that may
// list units) the units of the case's county, as choices for an override.
async function loadUnits(c, d) {
  const list = $('ov-units');
  const ids = new Map();
  const add = (id, name) => { if (id && !ids.has(id)) ids.set(id, name || ''); };
  add(d.lead, d.lead_name);
  (d.co || []).forEach((id, i) => add(id, (d.co_names || [])[i]));
  (d.lost || []).forEach((l) => add(l.lead, ''));
  const county = c.county_code || (c.township_code || '').slice(0, 6);
  if ((me.role === 'dispatcher' || me.role === 'supervisor') && county && unitsLoaded !== county) {
    try {
      const res = await api('GET', `/api/v1/admin/units?territory=${encodeURIComponent(county)}`);
      for (const u of (res && res.units) || []) if (u.active) add(u.id, u.name);
      unitsLoaded = county;
    } catch { /* candidates only */ }
  }
  list.replaceChildren(...[...ids].map(([id, name]) => el('option', { value: id, label: name ? `${name}` : id })));
}

function closeDispatch(refocus) {
  if (dispatchBox.hidden) return;
  dispatchBox.hidden = true;
  decision = null;
  if (refocus) $('btn-dispatch').focus();
}
$('btn-route-close').addEventListener('click', () => closeDispatch(true));
$('btn-dispatch').addEventListener('click', openDispatch);

async function dispatch(override) {
  const c = state.case;
  if (!c) return;
  const body = {};
  if (c.category) body.category = c.category;
  if (c.township_code) body.township_code = c.township_code;
  const leadBox = $('ov-lead'), reasonBox = $('ov-reason');
  fieldError(leadBox, $('err-ov-lead'), '');
  fieldError(reasonBox, $('err-ov-reason'), '');
  $('dispatch-error').hidden = true;
  if (override) {
    const lead = leadBox.value.trim();
    if (!lead) {
      fieldError(leadBox, $('err-ov-lead'), '请填写改派的主办单位编号');
      leadBox.focus();
      return;
    }
    body.lead = lead;
    body.reason = reasonBox.value.trim();
  }
  const btn = override ? $('btn-override') : $('btn-route-go');
  btn.disabled = true;
  let res;
  try {
    res = await api('POST', `/api/v1/cases/${c.id}/route`, body);
  } catch (e) {
    const why = e.field && e.field('reason');
    if (override && why) {
      fieldError(reasonBox, $('err-ov-reason'), why);
      reasonBox.focus();
    } else if (override && e.status === 422 && e.errors.some((x) => ['unit', 'input', 'lead'].includes(x.field))) {
      fieldError(leadBox, $('err-ov-lead'), e.message);
      leadBox.focus();
    } else {
      $('dispatch-error').textContent = `派单未成功：${e.message}`;
      $('dispatch-error').hidden = false;
    }
    return;
  } finally {
    btn.disabled = false;
  }
  closeDispatch(false);
  leadBox.value = '';
  reasonBox.value = '';
  const lead = (res.case.assignments || []).find((a) => a.role === 'lead' && a.state === 'pending_sign');
  showCase(res.case);
  say(`已派单${lead ? `至 ${lead.unit_name || lead.unit_id}` : ''}`);
}
$('btn-route-go').addEventListener('click', () => dispatch(false));
$('btn-override').addEventListener('click', () => dispatch(true));

// ---------------------------------------------------------------- keyboard

function editable(t) {
  return t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

document.addEventListener('keydown', (e) => {
  if (e.altKey && !e.ctrlKey && !e.metaKey) {
    let done = true;
    switch (e.code) {
      case 'KeyN': newCase(); break;
      case 'KeyS': save(); break;
      case 'KeyD': openDispatch(); break;
      case 'KeyA': answer(); break;
      case 'KeyK': kb.focus(); break;
      case 'KeyP': focusPop(); break;
      case 'KeyQ': focusQueue(); break;
      default: {
        const m = /^Digit([1-9])$/.exec(e.code);
        if (m && queueNames[Number(m[1]) - 1]) selectQueue(queueNames[Number(m[1]) - 1], true);
        else done = false;
      }
    }
    if (done) e.preventDefault();
    return;
  }
  if (e.key === 'Escape') {
    if (!actForm.hidden) {
      closeActForm(true);
    } else if (!dispatchBox.hidden) {
      closeDispatch(true);
    } else if (document.activeElement === filter && filter.value) {
      filter.value = '';
      renderQueue();
    } else {
      return;
    }
    e.preventDefault();
    return;
  }
  if (e.key === '/' && !e.ctrlKey && !e.altKey && !e.metaKey && !editable(e.target)) {
    e.preventDefault();
    filter.focus();
    filter.select();
  }
});

// ---------------------------------------------------------------- start

whenSignedOut(() => { $('session-expired').hidden = false; });
window.addEventListener('pagehide', () => sendClose());
window.addEventListener('hashchange', () => {
  const m = /^#case=([0-9a-f-]{36})$/i.exec(location.hash);
  if (m && (!state.case || state.case.id !== m[1])) openCase(m[1]);
});

async function start() {
  selectQueue(currentQueue, false);
  await Promise.all([reloadQueues(), loadPops()]);
  stream.start();
  const m = /^#case=([0-9a-f-]{36})$/i.exec(location.hash);
  if (m) openCase(m[1]);
}
start().then(() => { main.dataset.ready = 'true'; });

// The stream, for the console's tests (it holds no data of its own).
window.yiciConsole = { stream };
