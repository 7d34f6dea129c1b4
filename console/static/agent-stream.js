// The console's live stream (/console/ws, docs/console-protocol.md): one
// websocket that reconnects with exponential backoff and resumes after the
// highest position seen (?last=, kept in sessionStorage so that a reload
// resumes too). Positioned messages at or below that position are dropped,
// so nothing is shown twice after a resume.

import { store } from './agent-util.js';

const KEY = 'yici.console.last';
const MIN_DELAY = 1000, MAX_DELAY = 30000;

export class Stream {
  // onMessage(msg) gets every new message; onState(state, detail) gets
  // 'connecting' | 'online' | 'reconnecting' (detail: seconds to wait) |
  // 'offline' (paused).
  constructor({ onMessage, onState, onHello }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.onHello = onHello || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    const saved = Number(store.get('sessionStorage', KEY));
    this.last = Number.isSafeInteger(saved) && saved > 0 ? saved : null;
    this.pending = []; // client messages while offline: only the latest state matters
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', () => this.reconnectNow());
    this.connect();
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.last !== null ? `?last=${this.last}` : '';
    return `${proto}//${location.host}/console/ws${q}`;
  }

  connect() {
    clearTimeout(this.timer);
    this.onState(this.attempt === 0 && !this.everOnline ? 'connecting' : 'reconnecting', 0);
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.addEventListener('message', (e) => this.receive(e.data));
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.stopped) this.schedule();
    });
    ws.addEventListener('error', () => { /* close follows */ });
  }

  schedule() {
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.attempt = Math.min(this.attempt + 1, 10);
    this.onState('reconnecting', Math.ceil(delay / 1000));
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.ws || this.stopped) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  setLast(pos) {
    if (!Number.isSafeInteger(pos) || pos < 0) return;
    this.last = pos;
    store.set('sessionStorage', KEY, String(pos));
  }

  receive(data) {
    let m;
    try { m = JSON.parse(data); } catch { return; }
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'hello':
        this.attempt = 0;
        this.everOnline = true;
        if (this.last === null) this.setLast(m.pos);
        this.onState('online', 0);
        this.onHello(m);
        this.onMessage(m);
        return;
      case 'event':
      case 'screenpop':
        if (typeof m.pos !== 'number') return;
        if (this.last !== null && m.pos <= this.last) return; // seen already
        this.setLast(m.pos);
        this.onMessage(m);
        return;
      case 'resync':
        this.setLast(m.pos);
        this.onMessage(m);
        return;
      default:
        this.onMessage(m);
    }
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  // kill closes the connection as a network failure would: it reconnects.
  kill() {
    if (this.ws) this.ws.close();
  }

  // pause disconnects until resume (the connection's tests; a page that
  // must stop listening).
  pause() {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.onState('offline', 0);
  }

  resume() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }
}
