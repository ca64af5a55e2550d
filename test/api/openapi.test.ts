// The OpenAPI document at /api/v1/openapi.json is generated from the route declarations: every
// route of the /api/v1 router is in it and every documented operation exists (read from the
// router's own stack), it has the shape of an OpenAPI 3.1 document (unique operationIds, path
// templates matching their parameters, every $ref resolving), it still says what the
// hand-written document said, and a declaration that contradicts itself is refused.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { apiRoutes } from '../../src/api/api.routes.js';
import { TOKEN_SCOPES } from '../../src/oidc/scopes.js';
import { defineRoute, type ApiRoute } from '../../src/shared/api-route.js';
import { errorBodySchema } from '../../src/shared/errors.js';
import { idParams } from '../../src/shared/guid.schema.js';
import { openApiDocument, type OpenApiSpec } from '../../src/shared/openapi.js';
import { newTokenSchema } from '../../src/tokens/token.schema.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Json = Record<string, unknown>;
interface Operation extends Json {
  operationId: string;
  tags: string[];
  summary: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Json }>;
  responses: Record<string, { description: string; headers?: Record<string, Json>; content?: Record<string, { schema: Json }> }>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers: Array<{ url: string }>;
  security: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const OPERATION_FIELDS = new Set(['tags', 'summary', 'description', 'externalDocs', 'operationId', 'parameters', 'requestBody', 'responses', 'callbacks', 'deprecated', 'security', 'servers']);

let server: TestServer;
let doc: Document;

beforeAll(async () => {
  server = await startTestServer();
  const res = await fetch(`${server.url}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
});
afterAll(() => server.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

/** Resolves a local JSON pointer (`#/components/schemas/X`) in the document. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function walk(node: unknown, visit: (n: Json, at: string) => void, at = '#'): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, visit, `${at}/${i}`));
  else if (node && typeof node === 'object') {
    visit(node as Json, at);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${at}/${k}`);
  }
}

describe('the document and the router come from the same declarations', () => {
  test('every route on the /api/v1 router is documented under its name, and every documented operation is a route', () => {
    const router = apiRoutes(server.running.services);
    const routes = new Map<string, string | undefined>();
    for (const layer of router.stack) {
      const path = String(layer.path);
      // The auth middleware (no methods), the JSON 404 for the rest, and the document itself.
      if (layer.methods.length === 0 || path.includes('{*') || path === '/api/v1/openapi.json') continue;
      const templated = path.replace(/^\/api\/v1/, '').replace(/:(\w+)/g, '{$1}');
      for (const method of layer.methods) if (method !== 'HEAD') routes.set(`${method.toLowerCase()} ${templated}`, layer.name);
    }
    const documented = new Map(operations().map(({ path, method, op }) => [`${method} ${path}`, op.operationId]));
    expect(routes.size).toBe(14);
    expect([...routes.keys()].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented.keys()].filter((d) => !routes.has(d))).toEqual([]);
    // The router names each route by its operationId: the same declaration made both.
    for (const [route, name] of routes) expect({ route, name }).toEqual({ route, name: documented.get(route) });
  });
});

describe('an OpenAPI 3.1 document', () => {
  test('top level: version, info, servers, security naming declared schemes', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(Object.keys(doc).sort()).toEqual(['components', 'info', 'jsonSchemaDialect', 'openapi', 'paths', 'security', 'servers']);
    expect(doc.info).toEqual({ title: expect.any(String), version: expect.stringMatching(/\S/), description: expect.any(String) });
    expect(doc.servers).toEqual([{ url: `${server.settings.server.issuer}/api/v1` }]);
    for (const requirement of doc.security) {
      for (const [name, scopes] of Object.entries(requirement)) {
        expect(doc.components.securitySchemes).toHaveProperty(name);
        expect(scopes).toEqual([]);
      }
    }
    for (const scheme of Object.values(doc.components.securitySchemes)) {
      if (scheme.type === 'apiKey') expect(scheme).toMatchObject({ in: expect.stringMatching(/^(query|header|cookie)$/), name: expect.any(String) });
      else expect(scheme).toMatchObject({ type: 'http', scheme: expect.any(String) });
    }
  });

  test('operations: unique operationIds, known fields, path templates matching their path parameters', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect({ where, path }).toEqual({ where, path: expect.stringMatching(/^\/[a-z0-9/{}-]*$/) });
      expect(METHODS).toContain(method);
      expect({ where, unknown: Object.keys(op).filter((k) => !OPERATION_FIELDS.has(k)) }).toEqual({ where, unknown: [] });
      expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(op.tags.length).toBeGreaterThan(0);
      expect(op.summary).toMatch(/\S/);

      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const inPath = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect({ where, params: inPath.map((p) => p.name).sort() }).toEqual({ where, params: templated });
      for (const p of inPath) expect(p.required).toBe(true);
      for (const p of op.parameters ?? []) expect(['path', 'query', 'header', 'cookie']).toContain(p.in);
      const keys = (op.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  test('responses: one success, errors answered with the Error schema, each with a description', () => {
    for (const { path, method, op } of operations()) {
      const statuses = Object.keys(op.responses);
      expect(statuses.every((s) => /^[1-5]\d\d$/.test(s))).toBe(true);
      expect({ where: `${method} ${path}`, success: statuses.filter((s) => s.startsWith('2')).length }).toEqual({ where: `${method} ${path}`, success: 1 });
      // Every route is behind the admin check.
      expect(statuses).toEqual(expect.arrayContaining(['401', '403']));
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description).toMatch(/\S/);
        const schema = response.content?.['application/json']?.schema;
        expect(schema).toEqual({ $ref: expect.stringMatching(/^#\/components\/schemas\//) });
        if (!status.startsWith('2')) expect(schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
      if ((op.parameters ?? []).some((p) => p.in === 'path')) expect(statuses).toContain('404');
      if (op.requestBody) expect(statuses).toEqual(expect.arrayContaining(['400', '413', '415']));
    }
  });

  test('every $ref resolves to a schema in the document; every component is used', () => {
    const refs: string[] = [];
    walk(doc, (n, at) => {
      if ('$ref' in n) {
        refs.push(n.$ref as string);
        expect({ at, resolves: resolve(n.$ref as string) !== undefined }).toEqual({ at, resolves: true });
      }
    });
    expect(refs.length).toBeGreaterThan(20);
    const used = new Set(refs.map((r) => r.replace('#/components/schemas/', '')));
    expect(Object.keys(doc.components.schemas).filter((name) => !used.has(name))).toEqual([]);
  });

  test('schemas are JSON Schema 2020-12: known types, required names declared properties, no component $id', () => {
    const TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      expect({ name, $id: schema.$id, $schema: schema.$schema }).toEqual({ name, $id: undefined, $schema: undefined });
    }
    walk(doc.components.schemas, (n, at) => {
      if (at.endsWith('/properties')) return; // a map of names, not a schema
      if (typeof n.type === 'string') expect(TYPES).toContain(n.type);
      if (Array.isArray(n.required)) {
        const props = Object.keys((n.properties ?? {}) as Json);
        expect({ at, undeclared: (n.required as string[]).filter((r) => !props.includes(r)) }).toEqual({ at, undeclared: [] });
      }
    });
  });
});

describe('what the hand-written document said, it still says', () => {
  test('security: a session cookie with the CSRF header, or a bearer access token', () => {
    expect(doc.security).toEqual([{ session: [], csrf: [] }, { bearer: [] }]);
    expect(doc.components.securitySchemes).toEqual({
      session: { type: 'apiKey', in: 'cookie', name: 'gl.admin', description: expect.stringContaining('/login') },
      csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token', description: expect.stringContaining('PATCH and DELETE') },
      bearer: { type: 'http', scheme: 'bearer', description: expect.stringContaining('glpat_') },
    });
  });

  test('creating an API key is deprecated and says so in its headers', () => {
    const create = doc.paths['/api-keys']!.post!;
    expect(create).toMatchObject({ deprecated: true, description: expect.stringContaining('`Deprecation`') });
    expect(create.responses['201']!.headers).toEqual({
      Deprecation: { description: expect.stringContaining('RFC 9745'), schema: { type: 'string' } },
      Link: { description: expect.stringContaining('rel="deprecation"'), schema: { type: 'string' } },
    });
    expect(doc.paths['/access-tokens']!.post!.deprecated).toBeUndefined();
    expect(doc.paths['/access-tokens']!.post!.responses['201']!.headers).toBeUndefined();
  });

  test('the shapes: a new token, a connected app, a revocation, a token, an audit page', () => {
    const { schemas } = doc.components;
    expect(doc.paths['/access-tokens']!.post!.requestBody).toEqual({
      required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewToken' } } },
    });
    expect(schemas.NewToken).toMatchObject({
      type: 'object', required: ['name'], additionalProperties: false,
      properties: {
        name: { type: 'string', maxLength: 200 },
        scopes: { type: 'array', items: { type: 'string', enum: TOKEN_SCOPES }, description: expect.stringContaining('Default') },
        expires_at: { description: expect.stringContaining('within 5 years') },
      },
    });
    expect(Object.keys((schemas.ConnectedApp!.properties as Json)).sort()).toEqual(
      ['client_id', 'company_access', 'connected_at', 'connected_by', 'last_used_at', 'logo_uri', 'name', 'scope_descriptions', 'scopes', 'users'],
    );
    expect(schemas.Revocation).toMatchObject({
      properties: { revoked: { description: expect.stringContaining('not counted'), required: expect.arrayContaining(['grants', 'access_tokens']) } },
    });
    expect((schemas.ApiKey!.properties as Json).deprecated).toEqual({ type: 'boolean', const: true });
    expect(schemas.AuditPage).toMatchObject({ properties: { data: { items: { $ref: '#/components/schemas/AuditEvent' } }, next_cursor: {} } });
    expect(doc.paths['/audit-events']!.get!.parameters).toEqual([
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
      { name: 'cursor', in: 'query', required: false, description: expect.stringContaining('next_cursor'), schema: expect.objectContaining({ type: 'string' }) },
      { name: 'target_type', in: 'query', required: false, description: expect.any(String), schema: { type: 'string', enum: ['access_token', 'api_key', 'client'] } },
      { name: 'actor', in: 'query', required: false, description: expect.any(String), schema: expect.objectContaining({ type: 'string' }) },
    ]);
    expect(doc.paths['/connected-apps/{id}']!.delete!.description).toContain('A second call answers 404');
  });
});

describe('a declaration that contradicts itself is refused', () => {
  const ok = z.strictObject({ ok: z.boolean() });
  const spec = (routes: ApiRoute[], extra: Partial<OpenApiSpec> = {}): OpenApiSpec => ({
    info: { title: 't', version: '1' }, servers: [], security: [], securitySchemes: {},
    components: { Error: errorBodySchema, Ok: ok }, errorSchema: errorBodySchema,
    errors: { 400: 'bad', 401: 'who', 404: 'none', 413: 'big', 415: 'type' }, routes, ...extra,
  });
  const route = (over: Partial<ApiRoute>): ApiRoute => defineRoute({
    method: 'get', path: '/x', operationId: 'getX', summary: 's', tags: ['t'],
    guard: { response: ok, status: 200 }, answer: { description: 'OK' }, errors: [401], handler: () => undefined, ...over,
  });

  test('a well-formed declaration is accepted', () => {
    const built = openApiDocument(spec([
      route({}),
      route({ method: 'post', operationId: 'postX', guard: { body: newTokenSchema, response: ok, status: 201 }, errors: [400, 401, 413, 415] }),
      route({ path: '/x/:id', operationId: 'getOneX', guard: { params: idParams(), response: ok, status: 200 }, errors: [401, 404] }),
    ])) as unknown as Document;
    expect(Object.keys(built.paths)).toEqual(['/x', '/x/{id}']);
  });

  test.each([
    ['a body without 400, 413 and 415', route({ method: 'post', guard: { body: newTokenSchema, response: ok, status: 201 } }), /can answer 400, 413, 415/],
    ['a path parameter without 404', route({ path: '/x/:id', guard: { params: idParams(), response: ok, status: 200 } }), /can answer 404/],
    ['a query without 400', route({ guard: { query: z.object({ q: z.string() }), response: ok, status: 200 } }), /can answer 400/],
    ['a path parameter without a schema', route({ path: '/x/:id', errors: [401, 404] }), /path parameters id, schema for \(none\)/],
    ['a schema for a parameter the path lacks', route({ guard: { params: idParams(), response: ok, status: 200 }, errors: [401, 404] }), /path parameters \(none\), schema for id/],
    ['a response that is not a named component', route({ guard: { response: z.object({}), status: 200 } }), /not a named component/],
    ['an error status the API gives no meaning', route({ errors: [401, 429] }), /no meaning to the status 429/],
    ['a wildcard path', route({ path: '/x/{*rest}' }), /cannot describe/],
  ])('%s', (_what, bad, message) => {
    expect(() => openApiDocument(spec([bad]))).toThrow(message);
  });

  test('an operationId or a method and path used twice', () => {
    expect(() => openApiDocument(spec([route({}), route({ path: '/y' })]))).toThrow(/operationId getX is used twice/);
    expect(() => openApiDocument(spec([route({}), route({ operationId: 'again' })]))).toThrow(/GET \/x is declared twice/);
  });
});
