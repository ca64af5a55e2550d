// The Developer Tools page: one revoke experience for apps, access tokens and API keys. Without
// this script every "Revoke" is a link to a confirmation page (then a form POST); with it, the
// same dialog names the object (name, last four, scopes, last used), the JSON API revokes it,
// the row leaves in place and a notice names what was revoked.
(function () {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') || '';
  const say = (text, kind, near) => window.grantledger?.say(text, kind, near);
  const dialog = document.getElementById('revoke-dialog');
  if (!dialog || typeof dialog.showModal !== 'function') return;
  const $ = (selector) => dialog.querySelector(selector);
  const confirmButton = $('#revoke-confirm');
  const cancelButton = $('button[value="cancel"]');
  const dialogError = $('.dialog-error');
  const company = document.getElementById('connected-apps')?.getAttribute('data-company-name') || 'your company';

  // What each section's rows are and how the API revokes them.
  const KINDS = {
    connection: {
      id: (r) => r.getAttribute('data-client-id'), rows: 'tr[data-client-id]', url: (id) => '/api/v1/connected-apps/' + encodeURIComponent(id),
      title: (name) => 'Revoke access of ' + name + '?', button: 'Revoke access', idLabel: 'App GUID', idText: (r) => r.getAttribute('data-client-id'),
      consequence: (name) => 'Every token ' + name + ' holds for ' + company + ' stops working at once. To get access back, the app must be authorized again.',
      done: (name) => name + ' no longer has access to ' + company + '. It must be authorized again to reconnect.',
      gone: (name) => name + ' was already revoked.',
      empty: 'No apps are connected. An app appears here when someone in ' + company + ' allows it access.',
    },
    access_token: {
      id: (r) => r.getAttribute('data-token-id'), rows: 'tr[data-token-id]', url: (id) => '/api/v1/access-tokens/' + encodeURIComponent(id),
      title: (name) => 'Revoke the access token “' + name + '”?', button: 'Revoke access token', idLabel: 'Token', idText: (r) => '…' + r.getAttribute('data-last4'),
      consequence: () => 'Anything using this access token stops working at once.',
      done: (name, r) => 'The access token “' + name + '” (…' + r.getAttribute('data-last4') + ') was revoked. Anything using it stops working at once.',
      gone: (name) => 'The access token “' + name + '” was already revoked.',
      empty: 'No access tokens yet.',
    },
    api_key: {
      id: (r) => r.getAttribute('data-key-id'), rows: 'tr[data-key-id]', url: (id) => '/api/v1/api-keys/' + encodeURIComponent(id),
      title: (name) => 'Revoke the API key “' + name + '”?', button: 'Revoke API key', idLabel: 'Key', idText: (r) => '…' + r.getAttribute('data-last4'),
      consequence: () => 'Anything using this API key stops working at once.',
      done: (name, r) => 'The API key “' + name + '” (…' + r.getAttribute('data-last4') + ') was revoked. Anything using it stops working at once.',
      gone: (name) => 'The API key “' + name + '” was already revoked.',
      empty: 'No API keys.',
    },
  };

  let current = null; // { row, kind, section, opener }
  let busy = false;

  function setBusy(on) {
    busy = on;
    confirmButton.disabled = on;
    cancelButton.disabled = on;
    confirmButton.textContent = on ? 'Revoking…' : KINDS[current.kind].button;
  }

  function lastUsedText(row) {
    const iso = row.getAttribute('data-last-used');
    if (!iso) return 'Never';
    const ms = Date.parse(iso);
    return window.grantledger ? window.grantledger.relative(ms) + ' (' + new Date(ms).toLocaleString() + ')' : iso;
  }

  function removeRow(row, section, kind) {
    const tbody = row.parentElement;
    const columns = row.children.length;
    row.classList.add('removing');
    window.setTimeout(() => {
      row.remove();
      const left = tbody ? tbody.querySelectorAll(KINDS[kind].rows).length : 0;
      const count = section.querySelector('h2 .count');
      if (count) {
        const total = Math.max(0, Number(count.textContent) - 1);
        count.textContent = String(total);
        if (kind === 'connection') {
          if (total === 0) count.remove();
          else count.setAttribute('title', total + ' connected');
        }
      }
      if (tbody && left === 0) {
        const empty = document.createElement('tr');
        empty.className = 'empty';
        const cell = document.createElement('td');
        cell.colSpan = columns;
        cell.textContent = KINDS[kind].empty;
        empty.appendChild(cell);
        tbody.appendChild(empty);
      }
    }, 250);
  }

  document.querySelectorAll('section[data-kind] a.revoke-link').forEach((link) => {
    link.addEventListener('click', (e) => {
      e.preventDefault();
      const section = link.closest('section[data-kind]');
      const kind = section.getAttribute('data-kind');
      const row = link.closest('tr');
      const k = KINDS[kind];
      const menu = link.closest('details.menu');
      if (menu) menu.open = false;
      current = { row, kind, section, opener: menu ? menu.querySelector('summary') : link };
      const name = row.getAttribute('data-name');
      $('#revoke-title').textContent = k.title(name);
      $('.dialog-consequence').textContent = k.consequence(name);
      $('.dialog-id-label').textContent = k.idLabel;
      $('.dialog-guid').textContent = k.idText(row);
      const scopes = $('.dialog-scopes');
      scopes.textContent = '';
      const words = (row.getAttribute('data-scopes') || '').split('|').filter(Boolean);
      if (words.length === 0) scopes.textContent = 'Nothing';
      else {
        const list = document.createElement('ul');
        list.className = 'pills';
        for (const w of words) {
          const li = document.createElement('li');
          li.className = 'pill';
          li.textContent = w;
          list.appendChild(li);
        }
        scopes.appendChild(list);
      }
      $('.dialog-last-used').textContent = lastUsedText(row);
      dialogError.hidden = true;
      setBusy(false);
      dialog.showModal();
    });
  });

  // Escape must not close the dialog while the request is in flight.
  dialog.addEventListener('cancel', (e) => { if (busy) e.preventDefault(); });

  confirmButton.addEventListener('click', async (e) => {
    e.preventDefault();
    if (!current || busy) return;
    const { row, kind, section } = current;
    const k = KINDS[kind];
    const name = row.getAttribute('data-name');
    setBusy(true);
    dialogError.hidden = true;
    try {
      const res = await fetch(k.url(k.id(row)), {
        method: 'DELETE', headers: { 'x-csrf-token': csrf, accept: 'application/json' }, credentials: 'same-origin',
      });
      if (res.ok) say(k.done(name, row), 'ok', section);
      // Revoked meanwhile (another admin, another tab): the row is stale either way.
      else if (res.status === 404) say(k.gone(name), 'warn', section);
      else {
        const body = await res.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || 'Revoking failed (HTTP ' + res.status + '). Try again.');
      }
      setBusy(false);
      current = null;
      dialog.close('done');
      removeRow(row, section, kind);
      const heading = section.querySelector('h2');
      heading?.setAttribute('tabindex', '-1');
      heading?.focus();
    } catch (err) {
      setBusy(false);
      dialogError.textContent = err instanceof Error && err.message !== 'Failed to fetch'
        ? err.message : 'The server could not be reached. Nothing was revoked; try again.';
      dialogError.hidden = false;
    }
  });

  dialog.addEventListener('close', () => {
    if (current) current.opener?.focus();
    current = null;
  });

  // A just-created secret: bring it into view and focus it.
  document.getElementById('new-token')?.focus();
})();
