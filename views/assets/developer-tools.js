// Developer Tools page enhancements. Everything works without this script (forms and links);
// with it: copy buttons, the "More options" menus, and "Revoke access" through a dialog and the
// JSON API (the row disappears and a message confirms, without a page load).
(function () {
  'use strict';
  document.documentElement.classList.add('js');
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

  /** The Clipboard API needs a secure context (https or localhost); elsewhere, a selection copy. */
  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
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

  const closeMenus = (except) => {
    document.querySelectorAll('details.menu[open]').forEach((m) => { if (m !== except) m.removeAttribute('open'); });
  };

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
      const menu = guidButton.closest('details');
      const ok = await copy(guid);
      menu?.removeAttribute('open');
      menu?.querySelector('summary')?.focus();
      say(ok ? 'GUID copied to the clipboard: ' + guid : 'Copying failed. The GUID is ' + guid, ok ? 'ok' : 'warn');
    }
  });

  // One menu open at a time; Escape or a click elsewhere closes it.
  document.querySelectorAll('details.menu').forEach((menu) => {
    menu.addEventListener('toggle', () => { if (menu.open) closeMenus(menu); });
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    const open = document.querySelector('details.menu[open]');
    if (!open) return;
    closeMenus();
    open.querySelector('summary')?.focus();
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
  const section = document.getElementById('connected-apps');
  if (!dialog || !section || typeof dialog.showModal !== 'function') return;
  const confirmButton = dialog.querySelector('#revoke-confirm');
  const cancelButton = dialog.querySelector('button[value="cancel"]');
  const dialogError = dialog.querySelector('.dialog-error');
  const company = section.getAttribute('data-company-name') || 'your company';
  let row = null;
  let busy = false;

  function setBusy(on) {
    busy = on;
    confirmButton.disabled = on;
    cancelButton.disabled = on;
    confirmButton.textContent = on ? 'Revoking…' : 'Revoke access';
  }

  function removeRow(r) {
    const tbody = r.parentElement;
    r.classList.add('removing');
    window.setTimeout(() => {
      r.remove();
      const left = tbody ? tbody.querySelectorAll('tr[data-client-id]').length : 0;
      const count = section.querySelector('.count');
      if (count) {
        if (left === 0) count.remove();
        else {
          count.textContent = String(left);
          count.setAttribute('title', left + ' connected');
        }
      }
      if (tbody && left === 0) {
        const empty = document.createElement('tr');
        empty.className = 'empty';
        const cell = document.createElement('td');
        cell.colSpan = 7;
        cell.textContent = 'No apps are connected. An app appears here when someone in ' + company + ' allows it access.';
        empty.appendChild(cell);
        tbody.appendChild(empty);
      }
    }, 250);
  }

  section.querySelectorAll('a.revoke-link').forEach((link) => {
    link.addEventListener('click', (e) => {
      e.preventDefault();
      row = link.closest('tr');
      closeMenus();
      const name = row.getAttribute('data-app-name');
      dialog.querySelector('#revoke-title').textContent = 'Revoke access of ' + name + '?';
      dialog.querySelector('.dialog-app').textContent = name;
      dialog.querySelector('.dialog-guid').textContent = row.getAttribute('data-client-id');
      dialogError.hidden = true;
      setBusy(false);
      dialog.showModal();
    });
  });

  // Escape must not close the dialog while the request is in flight.
  dialog.addEventListener('cancel', (e) => { if (busy) e.preventDefault(); });

  confirmButton.addEventListener('click', async (e) => {
    e.preventDefault();
    if (!row || busy) return;
    const r = row;
    const clientId = r.getAttribute('data-client-id');
    const name = r.getAttribute('data-app-name');
    setBusy(true);
    dialogError.hidden = true;
    try {
      const res = await fetch('/api/v1/connected-apps/' + encodeURIComponent(clientId), {
        method: 'DELETE', headers: { 'x-csrf-token': csrf, accept: 'application/json' }, credentials: 'same-origin',
      });
      if (res.ok) {
        say(name + ' no longer has access to ' + company + '. It must be authorized again to reconnect.');
      } else if (res.status === 404) {
        // Revoked meanwhile (another admin, another tab): the row is stale either way.
        say(name + ' was already revoked.', 'warn');
      } else {
        const body = await res.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || 'Revoking failed (HTTP ' + res.status + '). Try again.');
      }
      setBusy(false);
      dialog.close('done');
      row = null;
      removeRow(r);
      section.querySelector('h2')?.setAttribute('tabindex', '-1');
      section.querySelector('h2')?.focus();
    } catch (err) {
      setBusy(false);
      dialogError.textContent = err instanceof Error && err.message !== 'Failed to fetch'
        ? err.message : 'The server could not be reached. Nothing was revoked; try again.';
      dialogError.hidden = false;
    }
  });

  dialog.addEventListener('close', () => {
    if (row) row.querySelector('details.menu summary')?.focus();
    row = null;
  });
})();
