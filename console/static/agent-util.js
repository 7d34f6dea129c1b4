// Small helpers of the agents' console: building DOM without HTML strings
// (data only ever goes into textContent and attributes), times in
// Asia/Shanghai, the screen reader announcer.

// el builds an element: el('li', {class: 'x', dataset: {id}, text: '…'}, child, …).
// Children are nodes or strings (text nodes); null/false are skipped.
export function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') n.textContent = String(v);
    else if (k === 'class') n.className = v;
    else if (k === 'dataset') Object.assign(n.dataset, v);
    else if (k === 'hidden') n.hidden = !!v;
    else if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  append(n, children);
  return n;
}

function append(n, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (id) => document.getElementById(id);

const zone = 'Asia/Shanghai';
const dateTime = new Intl.DateTimeFormat('zh-CN', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const timeOnly = new Intl.DateTimeFormat('zh-CN', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dayOnly = new Intl.DateTimeFormat('zh-CN', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });

function parts(fmt, d) {
  const o = {};
  for (const p of fmt.formatToParts(d)) o[p.type] = p.value;
  return o;
}

// when: "2026-11-28 09:05" in Beijing time ('' for no time).
export function when(t) {
  if (!t) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '';
  const p = parts(dateTime, d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

// clock: "09:05" today, else "11-27 09:05" (Beijing time).
export function clock(t) {
  if (!t) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '';
  const p = parts(timeOnly, d);
  const today = parts(dayOnly, new Date()), day = parts(dayOnly, d);
  const hm = `${p.hour}:${p.minute}`;
  return today.year === day.year && today.month === day.month && today.day === day.day ? hm : `${day.month}-${day.day} ${hm}`;
}

// isoDate: the Beijing calendar day of t, YYYY-MM-DD.
export function isoDate(t) {
  const p = parts(dayOnly, new Date(t));
  return `${p.year}-${p.month}-${p.day}`;
}

// groupNo groups a tracking number for reading aloud: 261128 9238 5217 0.
export function groupNo(no) {
  if (!no || no.length !== 15) return no || '';
  return `${no.slice(0, 6)} ${no.slice(6, 10)} ${no.slice(10, 14)} ${no.slice(14)}`;
}

// announce tells screen reader users what happened (polite).
let announceTimer = 0;
export function announce(text) {
  const a = $('announcer');
  if (!a) return;
  a.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { a.textContent = text; }, 50);
}

export function debounce(fn, ms) {
  let t = 0;
  const d = (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

// store wraps web storage, which may be unavailable (private mode, policy).
export const store = {
  get(area, key) { try { return window[area].getItem(key); } catch { return null; } },
  set(area, key, v) { try { window[area].setItem(key, v); } catch { /* not kept */ } },
};

// runes clips text to n Unicode characters.
export function runes(text, n) {
  const a = Array.from(text);
  return a.length > n ? a.slice(0, n).join('') : text;
}

// spans renders highlighted text ([{text, hit}]) as text with <mark>s.
export function spans(v) {
  if (typeof v === 'string') return [document.createTextNode(v)];
  if (!Array.isArray(v)) return [];
  return v.map((s) => (s && s.hit ? el('mark', { text: s.text || '' }) : document.createTextNode((s && s.text) || '')));
}

export function spansText(v) {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return '';
  return v.map((s) => (s && s.text) || '').join('');
}

// showError puts a message next to a field (id err-<name>) and marks it.
export function fieldError(input, box, message) {
  if (box) {
    box.textContent = message || '';
    box.hidden = !message;
  }
  if (input) {
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}
