// Developer Tools page enhancements. Everything works without this script (forms and links);
// with it: copy buttons, the "More options" menu behaviour, and revoke through a dialog.
(function () {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') || '';
  const notice = document.getElementById('notice');

  function say(text, kind) {
    if (!notice) return;
    notice.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'alert ' + (kind || 'ok');
    p.textContent = text;
    notice.appendChild(p);
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      return false;
    }
  }

  // Copy buttons: data-copy="#selector" (an input) or data-guid="…".
  document.addEventListener('click', async (event) => {
    const target = event.target;
    if (!(target instanceof window.HTMLElement)) return;
    const copyButton = target.closest('[data-copy]');
    if (copyButton) {
      const input = document.querySelector(copyButton.getAttribute('data-copy'));
      if (input && (await copy(input.value))) copyButton.textContent = 'Copied';
      return;
    }
    const guidButton = target.closest('.copy-guid');
    if (guidButton) {
      const guid = guidButton.getAttribute('data-guid');
      const ok = await copy(guid);
      guidButton.closest('details')?.removeAttribute('open');
      say(ok ? 'GUID copied to the clipboard: ' + guid : 'Copy failed. The GUID is ' + guid, ok ? 'ok' : 'warn');
    }
  });

  // Close other menus when one opens; close on Escape or a click outside.
  document.querySelectorAll('details.menu').forEach((menu) => {
    menu.addEventListener('toggle', () => {
      if (!menu.open) return;
      document.querySelectorAll('details.menu[open]').forEach((other) => { if (other !== menu) other.removeAttribute('open'); });
    });
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') document.querySelectorAll('details.menu[open]').forEach((m) => m.removeAttribute('open'));
  });
  document.addEventListener('click', (e) => {
    document.querySelectorAll('details.menu[open]').forEach((m) => { if (!m.contains(e.target)) m.removeAttribute('open'); });
  });

  // Forms with data-confirm ask first.
  document.querySelectorAll('form[data-confirm]').forEach((form) => {
    form.addEventListener('submit', (e) => {
      if (!window.confirm(form.getAttribute('data-confirm'))) e.preventDefault();
    });
  });

  // Revoke access through the confirmation dialog and the JSON API.
  const dialog = document.getElementById('revoke-dialog');
  if (!dialog || typeof dialog.showModal !== 'function') return;
  let row = null;
  document.querySelectorAll('a.revoke-link').forEach((link) => {
    link.addEventListener('click', (e) => {
      e.preventDefault();
      row = link.closest('tr');
      link.closest('details')?.removeAttribute('open');
      dialog.querySelector('.dialog-app').textContent = row.getAttribute('data-app-name');
      dialog.querySelector('#revoke-title').textContent = 'Revoke access of ' + row.getAttribute('data-app-name') + '?';
      dialog.querySelector('.dialog-error').hidden = true;
      dialog.showModal();
    });
  });
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'confirm' || !row) return;
    const clientId = row.getAttribute('data-client-id');
    const name = row.getAttribute('data-app-name');
    try {
      const res = await fetch('/api/v1/connected-apps/' + encodeURIComponent(clientId), {
        method: 'DELETE', headers: { 'x-csrf-token': csrf, accept: 'application/json' }, credentials: 'same-origin',
      });
      if (!res.ok && res.status !== 404) {
        const body = await res.json().catch(() => ({}));
        throw new Error(body.error?.message || 'Revoking failed (' + res.status + ').');
      }
      const tbody = row.parentElement;
      row.remove();
      if (tbody && tbody.children.length === 0) {
        const empty = document.createElement('tr');
        empty.className = 'empty';
        empty.innerHTML = '<td colspan="7">No apps are connected.</td>';
        tbody.appendChild(empty);
      }
      say(name + ' no longer has access. It must be authorized again to reconnect.');
    } catch (err) {
      say(err.message, 'error');
    }
    row = null;
  });
})();
