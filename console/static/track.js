// The public tracking page works without JavaScript (the server checks
// and answers every post). This only helps: digits typed full-width or
// with spaces are tidied, missing answers are pointed out before a
// round trip, and a second tap does not post twice.

const FULL = /[０-９]/g;
const tidy = (s) => s.replace(FULL, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0)).replace(/[\s\-\u3000]/g, '');

function setError(id, text) {
  const p = document.getElementById(`${id}-err`);
  if (p) p.textContent = text;
  const field = document.getElementById(id);
  if (field && field.tagName === 'INPUT') {
    if (text) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  }
}

function guard(form, busyText) {
  const button = form.querySelector('button[type="submit"]');
  if (!button) return;
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busyText;
  // Coming back with the browser's back button shows the page as it was left.
  window.addEventListener('pageshow', () => { button.disabled = false; button.textContent = label; }, { once: true });
}

const track = document.getElementById('track-form');
if (track) {
  track.addEventListener('submit', (ev) => {
    const no = document.getElementById('tracking_no');
    const digits = document.getElementById('phone_last4');
    no.value = tidy(no.value);
    digits.value = tidy(digits.value);
    let first = null;
    if (!no.value) { setError('tracking_no', '请填写受理编号'); first = first || no; }
    else if (!/^\d{15}$/.test(no.value)) { setError('tracking_no', '受理编号是 15 位数字，请核对后重新填写'); first = first || no; }
    else setError('tracking_no', '');
    if (!/^\d{4}$/.test(digits.value)) { setError('phone_last4', '请填写登记时所留手机号的后四位数字'); first = first || digits; }
    else setError('phone_last4', '');
    if (first) {
      ev.preventDefault();
      first.focus();
      return;
    }
    guard(track, '正在查询…');
  });
}

const rate = document.getElementById('rate-form');
if (rate) {
  rate.addEventListener('submit', (ev) => {
    let first = null;
    for (const [name, text] of [['satisfaction', '请选择您对办理结果是否满意'], ['solved', '请选择问题是否已经解决']]) {
      const chosen = rate.querySelector(`input[name="${name}"]:checked`);
      setError(name, chosen ? '' : text);
      if (!chosen && !first) first = rate.querySelector(`input[name="${name}"]`);
    }
    if (first) {
      ev.preventDefault();
      first.focus();
      return;
    }
    guard(rate, '正在提交…');
  });
}
