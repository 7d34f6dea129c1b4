// The JSON API with the user's session: the CSRF token on every
// state-changing request, errors as ApiError with the server's field
// errors (Chinese messages first).

const meta = document.querySelector('meta[name="csrf-token"]');
export const csrf = meta ? meta.getAttribute('content') : '';

export class ApiError extends Error {
  constructor(status, body) {
    const errs = (body && Array.isArray(body.errors)) ? body.errors : [];
    super(errs.map((e) => e.message_zh || e.message_en).filter(Boolean).join('；') || messageFor(status));
    this.status = status;
    this.errors = errs;
  }
  // field returns the message about a field, if any.
  field(name) {
    const e = this.errors.find((x) => x.field === name);
    return e ? (e.message_zh || e.message_en) : '';
  }
}

function messageFor(status) {
  switch (status) {
    case 0: return '网络连接失败，请稍后重试';
    case 401: return '登录已过期，请重新登录';
    case 403: return '您无权执行此操作';
    case 404: return '未找到';
    case 409: return '工单状态已变化，请刷新后重试';
    case 429: return '操作过于频繁，请稍后再试';
  }
  return status >= 500 ? '服务器暂时无法处理，请稍后重试' : '请求有误';
}

let onUnauthorized = () => {};
export function whenSignedOut(fn) { onUnauthorized = fn; }

// api sends a request; body (if any) is JSON. It resolves to the decoded
// answer and rejects with an ApiError.
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  let data = null;
  const ct = r.headers.get('Content-Type') || '';
  if (ct.includes('json') && r.status !== 204) {
    try { data = await r.json(); } catch { data = null; }
  }
  if (!r.ok) {
    if (r.status === 401) onUnauthorized();
    throw new ApiError(r.status, data);
  }
  return data;
}
