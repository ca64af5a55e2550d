// Every page: small enhancements over pages that work without script — menus that report
// aria-expanded and close on Escape or a click elsewhere, copy buttons, dates in the browser's
// own time zone (tooltip) with relative text kept fresh, dismissible notices that fade.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  const UNITS = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
  const rtf = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;
  // The same rule as src/shared/view-helpers.ts relativeTime.
  function relative(ms) {
    const seconds = Math.round((ms - Date.now()) / 1000);
    if (Math.abs(seconds) < 45 || !rtf) return 'just now';
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size * (unit === 'minute' ? 0.75 : 1)) return rtf.format(Math.round(seconds / size), unit);
    }
    return 'just now';
  }
  const local = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  function refreshTimes(root) {
    (root || document).querySelectorAll('time[data-relative]').forEach((t) => {
      const ms = Date.parse(t.getAttribute('datetime'));
      if (Number.isNaN(ms)) return;
      t.textContent = relative(ms);
      t.title = local.format(ms);
    });
  }
  refreshTimes();
  window.setInterval(refreshTimes, 30000);

  // Menus (<details class="menu">): aria-expanded on the summary, one open at a time.
  const menus = () => document.querySelectorAll('details.menu');
  function sync(menu) { menu.querySelector('summary')?.setAttribute('aria-expanded', menu.open ? 'true' : 'false'); }
  menus().forEach((menu) => {
    sync(menu);
    menu.addEventListener('toggle', () => {
      sync(menu);
      if (menu.open) menus().forEach((m) => { if (m !== menu) m.open = false; });
    });
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    const open = document.querySelector('details.menu[open]');
    if (!open) return;
    open.open = false;
    sync(open); // now, not when the toggle event comes
    open.querySelector('summary')?.focus();
  });
  document.addEventListener('click', (e) => {
    document.querySelectorAll('details.menu[open]').forEach((m) => { if (!m.contains(e.target)) m.open = false; });
  });

  /** The Clipboard API needs a secure context (https or localhost); elsewhere, a selection copy. */
  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.className = 'offscreen';
      document.body.appendChild(area);
      area.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      } finally {
        area.remove();
      }
    }
  }

  // Notices: the newest replaces the previous one, names what happened, can be dismissed and
  // fades after a while (role=status on the container announces it).
  const notice = document.getElementById('notice');
  let fadeTimer = 0;
  function fadeLater(p) {
    window.clearTimeout(fadeTimer);
    fadeTimer = window.setTimeout(() => {
      p.classList.add('fading');
      window.setTimeout(() => p.remove(), 600);
    }, 8000);
  }
  /** Shows the notice; `near` (an element in a section) puts it under that section's heading. */
  function say(text, kind, near) {
    if (!notice) return;
    const section = near && near.closest ? near.closest('section') : null;
    const heading = section ? section.querySelector('h2') : null;
    if (heading) heading.after(notice);
    notice.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'alert notice ' + (kind || 'ok');
    const span = document.createElement('span');
    span.textContent = text;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'dismiss';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    p.append(span, ' ', close);
    notice.appendChild(p);
    fadeLater(p);
  }
  if (notice) notice.querySelectorAll('.notice').forEach(fadeLater);

  document.addEventListener('click', async (event) => {
    const target = event.target;
    if (!(target instanceof window.HTMLElement)) return;
    const dismiss = target.closest('.notice .dismiss');
    if (dismiss) {
      dismiss.closest('.notice')?.remove();
      return;
    }
    const copyButton = target.closest('[data-copy]');
    if (copyButton) {
      const input = document.querySelector(copyButton.getAttribute('data-copy'));
      if (input && (await copy(input.value))) copyButton.textContent = 'Copied';
      return;
    }
    const textButton = target.closest('[data-copy-text]');
    if (textButton) {
      const text = textButton.getAttribute('data-copy-text');
      const ok = await copy(text);
      say(ok ? textButton.getAttribute('data-copied') || 'Copied.' : 'Copying failed. The value is ' + text, ok ? 'ok' : 'warn');
      return;
    }
    const guidButton = target.closest('.copy-guid');
    if (guidButton) {
      const guid = guidButton.getAttribute('data-guid');
      const menu = guidButton.closest('details');
      const ok = await copy(guid);
      if (menu) menu.open = false;
      menu?.querySelector('summary')?.focus();
      say(ok ? 'GUID copied to the clipboard: ' + guid : 'Copying failed. The GUID is ' + guid, ok ? 'ok' : 'warn', guidButton);
    }
  });

  // Sort menus submit their search form when changed.
  document.querySelectorAll('select.auto-submit').forEach((select) => {
    select.addEventListener('change', () => select.form?.requestSubmit());
  });

  window.grantledger = { say, refreshTimes, relative };
})();
