// The guard on a tiny Koa app (real HTTP, the real error renderer, the real domain schemas):
// input that does not validate is a 400 naming the field (404 for a path parameter), hostile
// input never reaches a 500, and a response that drifts from its schema or declared status is
// a logged 500 that does not send the drifted body.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import Router from '@koa/router';
import Koa from 'koa';
import { z } from 'zod';
import { auditQuery } from '../../src/audit/audit.schema.js';
import { connectedAppSchema } from '../../src/ledger/connection.presenter.js';
import { guard } from '../../src/shared/guard.js';
import { idParams } from '../../src/shared/guid.schema.js';
import { errorHandler, readForm } from '../../src/shared/http.js';
import type { Logger } from '../../src/shared/logger.js';
import { accessTokenSchema } from '../../src/tokens/token.presenter.js';
import { newTokenFormSchema, newTokenSchema } from '../../src/tokens/token.schema.js';

/** What the error renderer logged (a sink implementing the Logger interface). */
const logged: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
const sink = (level: string) => (msg: string, fields?: Record<string, unknown>) => void logged.push({ level, msg, fields });
const logger: Logger = { debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error'), child: () => logger };

const GUID = '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D';
const SECRET = 'glpat_this-must-never-be-sent';
const token = {
  id: GUID.toLowerCase(), name: 'Payroll export', last4: 'abcd', scopes: ['users:read'], created_at: '2026-01-31T09:00:00.000Z',
  created_by: { id: GUID.toLowerCase(), name: 'Ada', email: 'ada@example.com' }, expires_at: null, last_used_at: null,
};

/** What each handler saw, to show that invalid input never reaches it. */
let seen: unknown[] = [];
/** What the drifting presenter answers (set by each test). */
let presented: unknown = token;
let server: Server;
let url: string;

beforeAll(async () => {
  const app = new Koa();
  app.silent = true;
  app.use(errorHandler(logger));
  const router = new Router();
  const tokenRoute = { params: idParams(), notFound: 'The access token', response: accessTokenSchema, status: 200 };
  router.get('/api/tokens/:id', guard(tokenRoute, (ctx) => {
    seen.push(ctx.guard.params.id);
    ctx.body = presented;
  }));
  router.get('/api/status/:status', guard({ response: z.strictObject({ ok: z.literal(true) }), status: 200 }, (ctx) => {
    const status = Number(ctx.params.status);
    if (status === 404) return; // forgot the body: Koa's default 404
    ctx.body = { ok: true };
    ctx.status = status;
  }));
  router.get('/api/thrown', guard({ response: connectedAppSchema, status: 200 }, () => {
    throw Object.assign(new Error('not mine'), { status: 409, expose: true });
  }));
  router.post('/api/tokens', guard({ body: newTokenSchema, response: z.unknown(), status: 201, maxBodyBytes: 4096 }, (ctx) => {
    seen.push(ctx.guard.body);
    ctx.status = 201;
    ctx.body = { ok: true };
  }));
  router.get('/api/audit', guard({ query: auditQuery, status: 200 }, (ctx) => {
    seen.push(ctx.guard.query);
    ctx.body = ctx.guard.query;
  }));
  // A page: a middleware reads the form first (as the CSRF check does), the guard validates it.
  const pageForm = {
    body: newTokenFormSchema, form: true,
    invalid: (ctx: Koa.Context, message: string) => {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = `<p role="alert">${message}</p>`;
    },
  };
  router.post('/page/tokens', async (ctx, next) => {
    ctx.state.csrf = (await readForm(ctx, 4096))._csrf;
    return next();
  }, guard(pageForm, (ctx) => {
    seen.push({ csrf: ctx.state.csrf, ...ctx.guard.body });
    ctx.body = 'created';
  }));
  app.use(router.routes());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  seen = [];
  logged.length = 0;
  presented = token;
});

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  let body: { error?: { code: string; message: string } } & Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // a page
  }
  return { status: res.status, text, body };
}
const postJson = (body: string) => call('/api/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const postForm = (body: string) => call('/page/tokens', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

describe('response validation', () => {
  test('a presenter answering the declared shape passes, untouched', async () => {
    const res = await call(`/api/tokens/${GUID}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(token);
    expect(seen).toEqual([GUID.toLowerCase()]);
    expect(logged).toEqual([]);
  });

  test.each([
    ['an extra field (a leak)', { ...token, token_hash: SECRET }, 'token_hash'],
    ['a missing field', { ...token, last4: undefined }, 'last4'],
    ['a wrong type', { ...token, scopes: SECRET }, 'scopes'],
    ['a nested drift', { ...token, created_by: { ...token.created_by, password: SECRET } }, 'created_by'],
    ['a date that is not ISO', { ...token, created_at: SECRET }, 'created_at'],
    ['no object at all', [SECRET], '(body)'],
  ])('%s: a 500 that sends nothing of the drifted body, logged as a server bug naming the field', async (_what, body, field) => {
    presented = body;
    const res = await call(`/api/tokens/${GUID}`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    expect(res.text).not.toContain(SECRET);
    expect(res.text).not.toContain('Payroll');
    expect(logged).toHaveLength(1);
    const { level, msg, fields } = logged[0]!;
    const err = fields!.err as Error;
    expect({ level, msg, name: err.name }).toEqual({ level: 'error', msg: 'unhandled error', name: 'ResponseMismatch' });
    expect(err.message).toContain(`GET /api/tokens/${GUID}`);
    expect(err.message).toContain(field);
    // Keys and types only: the log does not carry the values either.
    expect(`${err.message}\n${err.stack}`).not.toContain(SECRET);
  });

  test('a status other than the declared one is a server bug too; a forgotten body as well', async () => {
    expect((await call('/api/status/200')).status).toBe(200);
    for (const status of [202, 204, 404]) {
      logged.length = 0;
      const res = await call(`/api/status/${status}`);
      expect({ status, answered: res.status, code: res.body.error?.code }).toEqual({ status, answered: 500, code: 'internal_error' });
      expect((logged[0]!.fields!.err as Error).message).toContain(`status ${status}, declared 200`);
    }
  });

  test('an error the handler throws is answered as it is, not checked against the response schema', async () => {
    const res = await call('/api/thrown');
    expect(res.status).toBe(409);
    expect(logged).toEqual([]);
  });
});

describe('input validation', () => {
  test('a malformed path parameter answers 404 naming the object; the handler never runs', async () => {
    for (const id of ['not-a-guid', '%00', `${GUID}x`, '__proto__', 'constructor', encodeURIComponent(`${GUID}\n`), 'x'.repeat(3000)]) {
      const res = await call(`/api/tokens/${id}`);
      expect({ id, status: res.status, body: res.body }).toEqual({
        id, status: 404, body: { error: { code: 'not_found', message: 'The access token was not found.' } },
      });
    }
    expect(seen).toEqual([]);
  });

  test('an invalid body answers 400 `<path>: <message>`, the way the API always did', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    const cases: Array<[unknown, string]> = [
      [{ name: 'a', expires_at: past }, 'expires_at: must be in the future'],
      [{ name: '' }, 'name: name is required'],
      [{ name: 'a', scopes: ['nope'] }, 'scopes.0: '],
      [{ name: 'a', admin: true }, 'Unrecognized key: "admin"'],
    ];
    for (const [body, message] of cases) {
      const res = await postJson(JSON.stringify(body));
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'invalid_request' });
      expect(res.body.error!.message.startsWith(message)).toBe(true);
    }
    expect(seen).toEqual([]);
    const ok = await postJson(JSON.stringify({ name: '  Padded ', scopes: ['users:read', 'users:read'] }));
    expect(ok.status).toBe(201);
    expect(seen).toEqual([{ name: 'Padded', scopes: ['users:read'], scopesGiven: true, expiresAt: null }]);
  });

  test('the query is typed: defaults, coercion, 400 naming the parameter', async () => {
    expect((await call('/api/audit')).body).toEqual({ limit: 50 });
    expect((await call('/api/audit?limit=5&cursor=99999999999')).body).toEqual({ limit: 5, cursor: 2_147_483_647 });
    const bad = await call('/api/audit?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toMatch(/^limit: /);
  });

  test('a page form is read once (by the CSRF check and the guard) and an invalid one gets the page’s own answer', async () => {
    const ok = await postForm('_csrf=c1&name=Payroll&scope%3Ausers%3Aread=on&expires_at=');
    expect(ok.status).toBe(200);
    expect(seen).toEqual([{ csrf: 'c1', name: 'Payroll', scopes: ['users:read'], scopesGiven: true, expiresAt: null }]);
    const bad = await postForm('_csrf=c2&name=');
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('<p role="alert">name: name is required</p>');
    expect(seen).toHaveLength(1);
  });
});

describe('hostile input is a 4xx, never a 500', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const bodies = [
    // Arrays and objects where strings are expected.
    '{"name":["x"]}', '["x"]', '[]', '{"name":{"toString":"x"}}', '{"name":"x","expires_at":["2030-01-01"]}',
    '{"name":"x","scopes":"users:read"}', '{"name":"x","scopes":[["users:read"]]}',
    // Prototype pollution: keys that are properties of every object.
    '{"__proto__":{"polluted":true}}', '{"name":"x","__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}', '{"name":"x","toString":"y","hasOwnProperty":1}',
    // Huge numbers and odd number shapes.
    '{"name":1e400}', '{"name":-1e400}', '{"name":123456789012345678901234567890}', '{"name":"x","expires_at":1e308}',
    '{"name":"x","expires_at":-0}', '{"name":"x","scopes":[1e400]}',
    // NUL and other characters that must not reach a database.
    '{"name":"a\\u0000b"}', '{"name":"\\u0000"}', '{"name":"x","expires_at":"2030-01-01\\u0000"}',
    '{"name":"x","scopes":["users:read\\u0000"]}', '{"name\\u0000":"x"}', '{"name":"\\ud800"}',
    // Deep nesting.
    `{"name":"x","scopes":${deep(2000)}}`,
    // Not JSON objects at all.
    'null', 'true', '0', '"x"', '{"name":', '\u0000',
  ];

  test.each(bodies)('JSON %s', async (body) => {
    const res = await postJson(body);
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    expect(seen).toEqual([]);
    expect(logged).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test.each([
    'limit=1&limit=2', 'cursor=1&cursor=2', 'limit=1e400', 'limit=-1e400', 'limit=99999999999999999999999',
    'limit=%00', 'cursor=%00', 'cursor=1%00', 'cursor=-1', 'cursor=1e3', 'limit=Infinity', 'limit=NaN',
  ])('query ?%s', async (query) => {
    const res = await call(`/api/audit?${query}`);
    expect({ query, status: res.status, code: res.body.error?.code }).toEqual({ query, status: 400, code: 'invalid_request' });
    expect(seen).toEqual([]);
    expect(logged).toEqual([]);
  });

  test('query keys the schema does not name (brackets, keys every object has) are ignored, not obeyed', async () => {
    for (const query of ['limit[]=1', '__proto__=1', '__proto__[limit]=1', 'constructor=x', 'toString=1&limit=7']) {
      const res = await call(`/api/audit?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 200 });
      expect(Object.keys(res.body).sort()).toEqual(['limit']);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test.each([
    'name=a%00b', 'name=%00', '__proto__=x', '__proto__%5Bname%5D=x', 'name=x&expires_at=2030-01-01%00', 'name=x&expires_at=tomorrow',
    'name=x&scope%3Aroot=on', 'name=%E2%80%AE', `name=${'x'.repeat(201)}`,
  ])('form %s', async (form) => {
    const res = await postForm(form);
    expect({ form, status: res.status }).toEqual({ form, status: 400 });
    // Control characters are refused by readForm itself (the page's CSRF check reads the form first): the error page.
    expect(res.text).toMatch(/^<p role="alert">|form field contains control characters/);
    expect(seen).toEqual([]);
    expect(logged).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
