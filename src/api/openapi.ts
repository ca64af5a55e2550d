// OpenAPI 3.1 description of the admin API, served at /api/v1/openapi.json.
import { API_SCOPES, TOKEN_SCOPES } from '../oidc/scopes.js';

const error = {
  type: 'object', required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const errors = {
  400: { description: 'Invalid input', content: json(ref('Error')) },
  401: { description: 'No valid session or bearer token', content: json(ref('Error')) },
  403: { description: 'Not an active admin, or CSRF token missing or wrong', content: json(ref('Error')) },
};
const notFound = { 404: { description: 'Not found in your company', content: json(ref('Error')) } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

const userRef = { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string' }, email: { type: 'string' } } };
const timestamp = { type: ['string', 'null'], format: 'date-time' };

// RFC 9745: API-key creation answers that the method is deprecated, and where to go instead.
const deprecationHeaders = {
  Deprecation: { description: 'Since when creating API keys is deprecated (RFC 9745), e.g. `@1764288000`', schema: { type: 'string' } },
  Link: { description: '`<…/docs/access-tokens>; rel="deprecation"`: the supported method', schema: { type: 'string' } },
};

function tokenPaths(path: string, schema: string, deprecated: boolean) {
  const tag = deprecated ? 'API keys' : 'Access tokens';
  return {
    [path]: {
      get: { tags: [tag], summary: `List live ${tag.toLowerCase()}`, responses: { 200: { description: 'OK', content: json({ type: 'object', properties: { data: { type: 'array', items: ref(schema) } } }) }, ...errors } },
      post: {
        tags: [tag], summary: deprecated ? 'Create a legacy API key (deprecated)' : 'Create an access token', deprecated,
        description: 'The response is the only place the token appears; store it now.' + (deprecated ? ' Answers with `Deprecation` and `Link` headers.' : ''),
        requestBody: { required: true, content: json(ref('NewToken')) },
        responses: {
          201: {
            description: 'Created',
            ...(deprecated ? { headers: deprecationHeaders } : {}),
            content: json({ allOf: [ref(schema), { type: 'object', required: ['token'], properties: { token: { type: 'string' } } }] }),
          },
          ...errors,
        },
      },
    },
    [`${path}/{id}`]: {
      parameters: [idParam],
      get: { tags: [tag], summary: 'Get one', responses: { 200: { description: 'OK', content: json(ref(schema)) }, ...errors, ...notFound } },
      delete: { tags: [tag], summary: 'Revoke (immediate)', responses: { 200: { description: 'Revoked', content: json({ type: 'object', properties: { id: { type: 'string' }, revoked_at: { type: 'string', format: 'date-time' } } }) }, ...errors, ...notFound } },
    },
  };
}

export function openApiDocument(issuer: string) {
  const token = {
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid' }, name: { type: 'string' }, last4: { type: 'string' },
      scopes: { type: 'array', items: { type: 'string', enum: TOKEN_SCOPES } },
      created_at: { type: 'string', format: 'date-time' }, created_by: userRef, expires_at: timestamp, last_used_at: timestamp,
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'grantledger admin API', version: '1.0.0',
      description: 'Developer Tools of a company: Connected Apps, access tokens, legacy API keys and the audit trail. Every call is scoped to the company of the calling admin.',
    },
    servers: [{ url: `${issuer}/api/v1` }],
    security: [{ session: [], csrf: [] }, { bearer: [] }],
    paths: {
      '/connected-apps': {
        get: { tags: ['Connected Apps'], summary: 'List connected apps', responses: { 200: { description: 'OK', content: json({ type: 'object', properties: { data: { type: 'array', items: ref('ConnectedApp') } } }) }, ...errors } },
      },
      '/connected-apps/{id}': {
        parameters: [{ ...idParam, description: 'The app’s client_id (GUID)' }],
        get: { tags: ['Connected Apps'], summary: 'Get one connected app', responses: { 200: { description: 'OK', content: json(ref('ConnectedApp')) }, ...errors, ...notFound } },
        delete: {
          tags: ['Connected Apps'], summary: 'Revoke the app’s access (irreversible)',
          description: 'Deletes every grant, token and code the app holds for this company, in one transaction; the app must be authorized again. A second call answers 404.',
          responses: { 200: { description: 'Revoked', content: json(ref('Revocation')) }, ...errors, ...notFound },
        },
        patch: {
          tags: ['Connected Apps'], summary: 'Narrow or remove the app’s company-wide access',
          description: '`{"company_access": {"scopes": [...]}}` keeps only those scopes (a subset of the current grant); `{"company_access": null}` removes it. Client-credentials tokens outside the new scopes stop working at once. With no company-wide access and nobody’s authorization left, the connection ends.',
          requestBody: { required: true, content: json(ref('CompanyAccessPatch')) },
          responses: { 200: { description: 'Changed', content: json(ref('CompanyAccessChange')) }, ...errors, ...notFound },
        },
      },
      '/connected-apps/{id}/users/{user}': {
        parameters: [
          { ...idParam, description: 'The app’s client_id (GUID)' },
          { name: 'user', in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, description: 'The person’s user GUID' },
        ],
        delete: {
          tags: ['Connected Apps'], summary: 'Revoke one person’s authorization of the app',
          description: 'That person’s consent and every grant and token of theirs for the app end at once; the connection stays while other people or the company-wide access remain.',
          responses: { 200: { description: 'Revoked', content: json(ref('UserAuthorizationRevocation')) }, ...errors, ...notFound },
        },
      },
      ...tokenPaths('/access-tokens', 'AccessToken', false),
      ...tokenPaths('/api-keys', 'ApiKey', true),
      '/audit-events': {
        get: {
          tags: ['Audit'], summary: 'Audit events, newest first',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: '`next_cursor` of the previous page' },
          ],
          responses: { 200: { description: 'OK', content: json({ type: 'object', properties: { data: { type: 'array', items: ref('AuditEvent') }, next_cursor: { type: ['string', 'null'] } } }) }, ...errors },
        },
      },
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'gl.admin', description: 'Developer Tools sign-in at /login' },
        csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token', description: 'Required with a session on POST and DELETE; shown in the page' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An access token (glpat_…) of an active admin' },
      },
      schemas: {
        Error: error,
        ConnectedApp: {
          type: 'object',
          properties: {
            client_id: { type: 'string', format: 'uuid' }, name: { type: 'string' }, logo_uri: { type: 'string' },
            scopes: { type: 'array', items: { type: 'string' } }, scope_descriptions: { type: 'array', items: { type: 'string' } },
            connected_at: { type: 'string', format: 'date-time' }, connected_by: { ...userRef, type: ['object', 'null'] }, last_used_at: timestamp,
            company_access: {
              type: ['object', 'null'], description: 'Company-wide access (client credentials for the company), or null',
              properties: {
                scopes: { type: 'array', items: { type: 'string' } }, granted_at: { type: 'string', format: 'date-time' },
                granted_by: { type: ['object', 'null'], properties: { ...userRef.properties, still_admin: { type: 'boolean' } } },
              },
            },
            users: { type: 'integer', description: 'People whose authorization of the app is live' },
            authorizations: {
              type: 'array', description: 'Only on GET /connected-apps/{id}: each person’s authorization',
              items: {
                type: 'object',
                properties: {
                  user_guid: { type: 'string', format: 'uuid' }, email: { type: 'string' }, name: { type: 'string' },
                  scopes: { type: 'array', items: { type: 'string' } }, authorized_at: { type: 'string', format: 'date-time' },
                  first_authorized_at: { type: 'string', format: 'date-time' }, last_used_at: timestamp,
                },
              },
            },
          },
        },
        CompanyAccessPatch: {
          type: 'object', required: ['company_access'], additionalProperties: false,
          properties: { company_access: { type: ['object', 'null'], required: ['scopes'], properties: { scopes: { type: 'array', items: { type: 'string', enum: API_SCOPES } } } } },
        },
        CompanyAccessChange: {
          type: 'object',
          properties: {
            client_id: { type: 'string' }, company_access: { type: ['object', 'null'], properties: { scopes: { type: 'array', items: { type: 'string' } } } },
            changed_at: { type: 'string', format: 'date-time' }, revoked: { type: 'object', additionalProperties: { type: 'integer' } },
            connection_ended: { type: 'boolean' },
          },
        },
        UserAuthorizationRevocation: {
          type: 'object',
          properties: {
            client_id: { type: 'string' }, user_guid: { type: 'string' }, revoked_at: { type: 'string', format: 'date-time' },
            revoked: { type: 'object', additionalProperties: { type: 'integer' } }, connection_ended: { type: 'boolean' },
          },
        },
        Revocation: {
          type: 'object',
          properties: {
            client_id: { type: 'string' }, revoked_at: { type: 'string', format: 'date-time' },
            revoked: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Live grants, access_tokens, refresh_tokens, authorization_codes, client_credentials_tokens, device_codes and backchannel_requests revoked (spent codes, rotated refresh tokens and expired rows are deleted too but not counted)' },
          },
        },
        AccessToken: token,
        ApiKey: { ...token, properties: { ...token.properties, deprecated: { type: 'boolean', const: true } } },
        NewToken: {
          type: 'object', required: ['name'], additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 200 },
            scopes: { type: 'array', items: { type: 'string', enum: TOKEN_SCOPES }, description: 'Default: every V2 API scope — developer_tools:read/write (the admin API by bearer token) only when asked. With a bearer token: within its own scopes (default: the V2 scopes it holds), and an expiry no later than its own' },
            expires_at: { type: ['string', 'null'], description: 'ISO date or date-time in the future (within 5 years); null or absent: no expiry' },
          },
        },
        AuditEvent: {
          type: 'object',
          properties: {
            id: { type: 'integer' }, action: { type: 'string' }, actor: { type: 'string' }, target_type: { type: 'string' },
            target_id: { type: 'string' }, details: { type: 'object' }, created_at: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
  };
}
