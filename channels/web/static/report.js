// The report form's enhancements; the form works without them.
//  - As the person types the content (400 ms after the last key), the
//    triage suggestion: the top category is selected unless the person
//    chose one, the top three are offered as quick choices, and the place
//    found is selected unless the person picked one.
//  - The city → county → township picker, filled from /api/v1/divisions.
//  - The 举报 confidentiality note follows the kind chosen.
//  - Photos are checked (count, type, size) and previewed before upload.

const form = document.getElementById('report');
if (form) init(form);

function init(form) {
  const el = form.elements;
  const content = el.content, category = el.category;
  const city = el.city, county = el.county_code, township = el.township_code;
  const csrf = el.csrf ? el.csrf.value : '';
  const suggest = document.getElementById('suggest');
  const chips = suggest.querySelector('.suggest-choices');
  const status = document.getElementById('suggest-status');
  const count = document.getElementById('count-content');
  const note = document.getElementById('note-report');
  let categoryTouched = category.value !== '';
  let placeTouched = city.value !== '' || county.value !== '';

  // Content: characters typed, and triage.
  const maxChars = Number(content.getAttribute('maxlength')) || 4000;
  const showCount = () => { count.textContent = `已输入 ${[...content.value].length} / ${maxChars} 字`; };
  showCount();
  let timer = 0, inflight = null, lastText = '';
  content.addEventListener('input', () => {
    showCount();
    clearTimeout(timer);
    timer = setTimeout(triage, 400);
  });

  async function triage() {
    const text = content.value.trim();
    if (text.length < 6 || text === lastText) return;
    lastText = text;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    let res;
    try {
      const headers = { 'Content-Type': 'application/json' };
      if (csrf) headers['X-CSRF-Token'] = csrf;
      const r = await fetch('/api/v1/triage', {
        method: 'POST', headers, credentials: 'same-origin', signal: inflight.signal,
        body: JSON.stringify({ text, channel: 'web' }),
      });
      if (!r.ok) return;
      res = await r.json();
    } catch {
      return; // offline or superseded: the server triages on submit
    }
    offer(res.top3 || []);
    const place = res.township_code || res.county_code;
    if (place && !placeTouched) await selectPlace(place);
  }

  function offer(top) {
    top = top.filter((t) => t.code && t.name && category.querySelector(`option[value="${CSS.escape(t.code)}"]`));
    chips.replaceChildren(...top.map((t) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'chip';
      b.textContent = t.name;
      b.dataset.code = t.code;
      b.addEventListener('click', () => {
        category.value = t.code;
        categoryTouched = true;
        pressed();
      });
      return b;
    }));
    suggest.hidden = top.length === 0;
    if (top.length && !categoryTouched && category.value !== top[0].code) {
      category.value = top[0].code;
      status.textContent = `已根据内容选择类别“${top[0].name}”，可以修改。`;
    }
    pressed();
  }
  function pressed() {
    for (const b of chips.children) b.setAttribute('aria-pressed', String(b.dataset.code === category.value));
  }
  category.addEventListener('change', () => { categoryTouched = true; pressed(); });

  // The place picker.
  const allCounties = [...county.children].map((n) => n.cloneNode(true));
  const cache = new Map();
  function divisions(parent) {
    if (!cache.has(parent)) {
      cache.set(parent, fetch(`/api/v1/divisions?parent=${encodeURIComponent(parent)}`)
        .then((r) => (r.ok ? r.json() : { divisions: [] }))
        .then((j) => j.divisions || [])
        .catch(() => { cache.delete(parent); return null; }));
    }
    return cache.get(parent);
  }
  function fill(select, list, first) {
    const keep = select.value;
    select.replaceChildren(new Option(first, ''), ...list.map((d) => new Option(d.name, d.code)));
    select.value = keep;
    if (select.value !== keep) select.value = '';
  }
  async function counties(c) {
    if (!c) {
      const keep = county.value;
      county.replaceChildren(...allCounties.map((n) => n.cloneNode(true)));
      county.value = keep;
      return;
    }
    const list = await divisions(c);
    if (list) fill(county, list, '请选择');
  }
  async function townships(c) {
    if (!c) {
      township.replaceChildren(new Option('请先选择县（市、区）', ''));
      township.disabled = true;
      return;
    }
    const list = await divisions(c);
    if (!list) return; // offline: the address will do
    fill(township, list, '请选择');
    township.disabled = false;
  }
  async function selectPlace(code) {
    const c4 = code.slice(0, 4), c6 = code.slice(0, 6);
    if (city.value !== c4) {
      city.value = c4;
      if (city.value !== c4) return; // not a city of the list
      county.value = '';
      await counties(c4);
    }
    if (county.value !== c6) {
      county.value = c6;
      if (county.value !== c6) return;
      township.value = '';
      await townships(c6);
    }
    if (code.length === 9 && !placeTouched) {
      township.value = code;
      const name = township.selectedIndex > 0 ? township.options[township.selectedIndex].text : '';
      if (name) status.textContent = `已根据内容选择地点“${name}”，可以修改。`;
    }
  }
  city.addEventListener('change', async () => {
    placeTouched = true;
    county.value = '';
    await counties(city.value);
    await townships('');
  });
  county.addEventListener('change', async () => {
    placeTouched = true;
    const c = county.value;
    if (c && city.value !== c.slice(0, 4)) {
      city.value = c.slice(0, 4);
      await counties(city.value);
      county.value = c;
    }
    await townships(c);
  });
  township.addEventListener('change', () => { placeTouched = true; });
  if (city.value) counties(city.value);

  // 举报: the confidentiality note.
  const kindChanged = () => note.classList.toggle('is-open', el.kind.value === '举报');
  for (const r of el.kind) r.addEventListener('change', kindChanged);

  // Photos.
  const photos = el.photos;
  const check = document.getElementById('photos-check');
  const previews = document.getElementById('previews');
  const maxFiles = Number(form.dataset.maxFiles), maxFile = Number(form.dataset.maxFileSize);
  const maxBody = Number(form.dataset.maxBody);
  const types = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
  const size = (n) => (n >= 1 << 20 ? `${Math.floor(n / (1 << 20))} MB` : `${Math.max(1, Math.floor(n / 1024))} KB`);
  let urls = [];
  photos.addEventListener('change', () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    const files = [...photos.files];
    let msg = '';
    if (files.length > maxFiles) msg = `最多上传 ${maxFiles} 张照片`;
    else if (files.some((f) => !types.includes(f.type))) msg = '只能上传图片（JPG、PNG、GIF、WebP）';
    else if (files.some((f) => f.size > maxFile)) msg = `每张照片不能超过 ${size(maxFile)}`;
    else if (files.reduce((s, f) => s + f.size, 0) > maxBody - 64 * 1024) msg = `照片合计不能超过 ${size(maxBody)}`;
    photos.setCustomValidity(msg);
    check.textContent = msg;
    check.hidden = !msg;
    if (msg) photos.setAttribute('aria-invalid', 'true');
    else photos.removeAttribute('aria-invalid');
    previews.replaceChildren(...(msg ? [] : files.map((f) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      const u = URL.createObjectURL(f);
      urls.push(u);
      img.src = u;
      img.alt = '';
      li.append(img, f.name);
      return li;
    })));
    previews.hidden = previews.children.length === 0;
  });

  // Submitting: say so (a second click files nothing twice).
  const button = form.querySelector('button[type="submit"]');
  const label = button.textContent;
  form.addEventListener('submit', () => { button.textContent = '正在提交…'; });
  window.addEventListener('pageshow', () => { button.textContent = label; });
}
