// The OpenAPI 3.1 document of a JSON API, generated from its route declarations with zod's own
// JSON Schema output (z.toJSONSchema, draft 2020-12, which OpenAPI 3.1 uses): the schemas the
// guard validates with are the schemas documented. Requests are described as the input they
// accept, responses as the output they give. A declaration that contradicts itself (a path
// parameter without a schema, a guard's error status left out, an unnamed response, a reused
// operationId) stops the router from being built, so it cannot be served.
import { z } from 'zod';
import type { ApiRoute, ErrorStatus } from './api-route.js';

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

export interface OpenApiSpec {
  info: { title: string; version: string; description?: string };
  servers: Array<{ url: string }>;
  security: Array<Record<string, string[]>>;
  securitySchemes: Record<string, Record<string, unknown>>;
  /** Named response schemas, `#/components/schemas/<name>`; every route's response must be one. */
  components: Record<string, z.ZodType>;
  /** Named request-body schemas (described as input); other bodies are written inline. */
  requestComponents?: Record<string, z.ZodType>;
  /** The body of every error answer: one of `components`. */
  errorSchema: z.ZodType;
  /** What each error status means in this API. */
  errors: Partial<Record<ErrorStatus, string>>;
  routes: readonly ApiRoute[];
}

const REF = '#/components/schemas/';
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * zod writes its own regex next to `format: date-time` and `format: date`; the format says it
 * for readers and tools, and the regex (half a kilobyte each) would drown the document.
 */
const override = ({ jsonSchema }: { jsonSchema: JsonSchema }) => {
  if (jsonSchema.format === 'date-time' || jsonSchema.format === 'date') delete jsonSchema.pattern;
};

/** Named schemas as components; schemas nested in one another become `$ref`s. */
function componentSchemas(named: Record<string, z.ZodType>, io: Io): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, override, uri: (id) => `${REF}${id}` });
  if ('__shared' in schemas) throw new Error('OpenAPI: a schema is shared between components without a name of its own');
  // `$schema` is the document's dialect already; a component's `$id` would be a fragment URI.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

function inlineSchema(schema: z.ZodType, io: Io, where: string): JsonSchema {
  const { $schema: _s, ...json } = z.toJSONSchema(schema, { io, override }) as JsonSchema;
  if ('$defs' in json) throw new Error(`OpenAPI: ${where} nests a schema with an id; name it in the components instead`);
  return json;
}

function nameOf(schema: z.ZodType, named: Record<string, z.ZodType>): string | undefined {
  return Object.entries(named).find(([, s]) => s === schema)?.[0];
}

/** `{ name: schema }` of a params or query object, with `description` lifted to the parameter. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query', route: ApiRoute): JsonSchema[] {
  if (!schema) return [];
  const json = inlineSchema(schema, 'input', `${route.operationId} ${where}`);
  if (json.type !== 'object') throw new Error(`OpenAPI: ${route.operationId}: ${where} parameters must be an object schema`);
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries((json.properties ?? {}) as Record<string, JsonSchema>).map(([name, { description, ...s }]) => ({
    name, in: where, required: where === 'path' || required.has(name), ...(description ? { description } : {}), schema: s,
  }));
}

/** `/connected-apps/:id` → `/connected-apps/{id}`, and the parameter names. */
function openApiPath(path: string): { path: string; names: string[] } {
  if (/[*?()]/.test(path)) throw new Error(`OpenAPI: the path ${path} has a pattern the document cannot describe`);
  const names: string[] = [];
  return { path: path.replace(/:(\w+)/g, (_m, name: string) => (names.push(name), `{${name}}`)), names };
}

/** The statuses the guard itself answers, which every route with that input must declare. */
function guardErrors(route: ApiRoute): ErrorStatus[] {
  return [
    ...(route.guard.params ? [404 as const] : []),
    ...(route.guard.query ? [400 as const] : []),
    ...(route.guard.body ? [400 as const, 413 as const, 415 as const] : []),
  ];
}

function operation(route: ApiRoute, spec: OpenApiSpec, names: string[]): JsonSchema {
  const { guard } = route;
  const error = { $ref: `${REF}${nameOf(spec.errorSchema, spec.components)}` };
  const responseName = nameOf(guard.response, spec.components);
  if (!responseName) throw new Error(`OpenAPI: the response of ${route.operationId} is not a named component`);

  const pathParams = parameters(guard.params, 'path', route);
  const declared = pathParams.map((p) => p.name).sort();
  if (declared.join() !== [...names].sort().join()) {
    throw new Error(`OpenAPI: ${route.operationId}: path parameters ${names.join(', ') || '(none)'}, schema for ${declared.join(', ') || '(none)'}`);
  }
  const missing = guardErrors(route).filter((s) => !route.errors.includes(s));
  if (missing.length) throw new Error(`OpenAPI: ${route.operationId} can answer ${missing.join(', ')} but does not declare it`);

  const params = [...pathParams, ...parameters(guard.query, 'query', route)];
  let requestBody: JsonSchema | undefined;
  if (guard.body) {
    const bodyName = nameOf(guard.body, spec.requestComponents ?? {});
    const schema = bodyName ? { $ref: `${REF}${bodyName}` } : inlineSchema(guard.body, 'input', `${route.operationId} body`);
    requestBody = { required: true, content: { [guard.form ? FORM_TYPE : JSON_TYPE]: { schema } } };
  }
  const headers = route.answer.headers && Object.fromEntries(Object.entries(route.answer.headers).map(([name, schema]) => {
    const { description, ...s } = inlineSchema(schema, 'output', `${route.operationId} header ${name}`);
    return [name, { ...(description ? { description } : {}), schema: s }];
  }));

  const responses: Record<string, JsonSchema> = {
    [guard.status]: { description: route.answer.description, ...(headers ? { headers } : {}), content: { [JSON_TYPE]: { schema: { $ref: `${REF}${responseName}` } } } },
  };
  for (const status of [...route.errors].sort((a, b) => a - b)) {
    const description = spec.errors[status];
    if (!description) throw new Error(`OpenAPI: the API gives no meaning to the status ${status} of ${route.operationId}`);
    responses[status] = { description, content: { [JSON_TYPE]: { schema: error } } };
  }
  return {
    operationId: route.operationId, tags: route.tags, summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.deprecated ? { deprecated: true } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

export function openApiDocument(spec: OpenApiSpec): JsonSchema {
  if (!nameOf(spec.errorSchema, spec.components)) throw new Error('OpenAPI: the error schema is not a named component');
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const operationIds = new Set<string>();
  for (const route of spec.routes) {
    if (operationIds.has(route.operationId)) throw new Error(`OpenAPI: the operationId ${route.operationId} is used twice`);
    operationIds.add(route.operationId);
    const { path, names } = openApiPath(route.path);
    const item = (paths[path] ??= {});
    if (item[route.method]) throw new Error(`OpenAPI: ${route.method.toUpperCase()} ${route.path} is declared twice`);
    item[route.method] = operation(route, spec, names);
  }
  const responses = componentSchemas(spec.components, 'output');
  const requests = componentSchemas(spec.requestComponents ?? {}, 'input');
  const clash = Object.keys(requests).filter((k) => k in responses);
  if (clash.length) throw new Error(`OpenAPI: components named twice: ${clash.join(', ')}`);
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: spec.info,
    servers: spec.servers,
    security: spec.security,
    paths,
    components: { securitySchemes: spec.securitySchemes, schemas: { ...responses, ...requests } },
  };
}
