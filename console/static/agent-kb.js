// The knowledge panel: searches the knowledge base (GET /api/v1/kb/search)
// as the agent types the case content, lists the top answers with their
// highlights, and inserts an answer into the reply with its source line.
// When the knowledge API is missing or failing it says so quietly and
// stays out of the way.

import { api, ApiError } from './agent-api.js';
import { $, el, spans, spansText, runes, debounce, announce } from './agent-util.js';

const TYPE_LABELS = { qa: '政策问答', guide: '办事指南' };

export class Knowledge {
  // onInsert({id, version, title, text}) receives the chosen answer.
  constructor({ onInsert }) {
    this.onInsert = onInsert;
    this.form = $('kb-form');
    this.q = $('kb-q');
    this.status = $('kb-status');
    this.list = $('kb-results');
    this.unavailable = false;
    this.failedAt = 0;
    this.touched = false; // the agent typed a query of their own
    this.ctrl = null;
    this.seq = 0;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.unavailable = false; // a manual search tries again
      this.search(this.q.value);
    });
    this.q.addEventListener('input', () => { this.touched = this.q.value.trim() !== ''; });
    this.list.addEventListener('keydown', (e) => this.arrows(e));
    this.follow = debounce((text) => this.search(text), 500);
  }

  // fromContent follows the case content unless the agent searches by hand
  // (or the knowledge base failed less than a minute ago).
  fromContent(text) {
    if (this.touched || (this.unavailable && Date.now() - this.failedAt < 60000)) return;
    const q = runes(text.trim(), 200);
    if (Array.from(q).length < 4) return;
    this.q.value = q;
    this.follow(q);
  }

  reset() {
    this.touched = false;
    this.q.value = '';
    this.list.replaceChildren();
    if (!this.unavailable) this.status.textContent = '';
  }

  focus() {
    this.q.focus();
    this.q.select();
  }

  async search(text) {
    const q = runes((text || '').trim(), 200);
    if (!q) {
      this.list.replaceChildren();
      this.status.textContent = '';
      return;
    }
    if (this.ctrl) this.ctrl.abort();
    this.ctrl = new AbortController();
    const seq = ++this.seq;
    this.status.textContent = '正在搜索…';
    let res;
    try {
      res = await api('GET', `/api/v1/kb/search?limit=5&q=${encodeURIComponent(q)}`, undefined, { signal: this.ctrl.signal });
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (seq !== this.seq) return;
      this.list.replaceChildren();
      if (e instanceof ApiError && e.status === 400) {
        this.status.textContent = e.message;
        return;
      }
      // 404 (no knowledge API), 5xx, offline: quietly unavailable.
      this.unavailable = true;
      this.failedAt = Date.now();
      this.status.textContent = '知识库暂不可用';
      return;
    }
    if (seq !== this.seq) return;
    this.unavailable = false;
    const hits = (res && Array.isArray(res.hits) ? res.hits : []).slice(0, 5);
    this.status.textContent = hits.length ? `找到 ${hits.length} 条相关答案` : '没有找到相关答案';
    this.list.replaceChildren(...hits.map((h, i) => this.item(h, i)));
  }

  item(h, i) {
    const title = spansText(h.title);
    const meta = [TYPE_LABELS[h.type] || h.type || '', h.id ? `编号 ${h.id}` : '', h.version ? `第 ${h.version} 版` : '']
      .filter(Boolean).join(' · ');
    const insert = el('button', { type: 'button', class: 'secondary small kb-insert', 'aria-label': `插入答复：${title}`, dataset: { index: String(i) } }, '插入答复');
    insert.addEventListener('click', () => this.insert(h));
    return el('li', { class: 'kb-hit' },
      el('h3', { class: 'kb-title' }, ...spans(h.title)),
      el('p', { class: 'kb-snippet' }, ...spans(h.snippet)),
      el('p', { class: 'kb-meta', text: meta }),
      insert);
  }

  arrows(e) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const buttons = [...this.list.querySelectorAll('.kb-insert')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    const next = buttons[(i + (e.key === 'ArrowDown' ? 1 : buttons.length - 1)) % buttons.length];
    next.focus();
  }

  // insert fetches the full answer of the version found (the snippet when
  // the article cannot be read) and hands it over with its source.
  async insert(h) {
    const title = spansText(h.title);
    let text = '';
    if (h.id && h.version) {
      try {
        const a = await api('GET', `/api/v1/kb/articles/${encodeURIComponent(h.id)}/versions/${encodeURIComponent(h.version)}`);
        text = answerText(a);
      } catch { /* the snippet will do */ }
    }
    if (!text) text = spansText(h.snippet);
    this.onInsert({ id: h.id || '', version: h.version || 0, title, text });
    announce(`已插入知识库答复：${title}`);
  }
}

// answerText is the answer of an article version: a Q&A's answer, or a
// service guide's fields.
function answerText(a) {
  if (!a) return '';
  if (a.answer) return String(a.answer);
  if (a.guide && typeof a.guide === 'object') {
    return Object.entries(a.guide).filter(([, v]) => v).map(([k, v]) => `${k}：${v}`).join('\n');
  }
  return '';
}

// sourceLine is the line recorded with a reply taken from the knowledge base.
export function sourceLine(src) {
  const parts = [`来源：知识库《${src.title}》`];
  if (src.id) parts.push(`编号 ${src.id}`);
  if (src.version) parts.push(`第 ${src.version} 版`);
  return `（${parts.join('，')}）`;
}
