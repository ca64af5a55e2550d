// The OpenAPI 3.1 document of the admin API, served at /api/v1/openapi.json: what the API is,
// how callers authenticate, the names of its schemas and what its error statuses mean. The
// operations and every schema come from the route declarations (api.routes.ts) through
// shared/openapi.ts: nothing here describes a shape by hand.
import { auditEventSchema, auditPageSchema } from '../audit/audit.schema.js';
import {
  authorizationSchema, companyAccessChangeSchema, companyAccessPatchSchema, connectedAppDetailSchema, connectedAppListSchema,
  connectedAppSchema, revocationSchema, userAuthorizationRevocationSchema,
} from '../ledger/connection.presenter.js';
import type { ApiRoute } from '../shared/api-route.js';
import { errorBodySchema } from '../shared/errors.js';
import { openApiDocument } from '../shared/openapi.js';
import {
  accessTokenListSchema, accessTokenSchema, apiKeyListSchema, apiKeySchema, createdAccessTokenSchema, createdApiKeySchema,
  tokenRevocationSchema,
} from '../tokens/token.presenter.js';
import { newTokenSchema } from '../tokens/token.schema.js';

export function adminApiDocument(routes: readonly ApiRoute[], issuer: string) {
  return openApiDocument({
    info: {
      title: 'grantledger admin API', version: '1.0.0',
      description: 'Developer Tools of a company: Connected Apps, access tokens, legacy API keys and the audit trail. Every call is scoped to the company of the calling admin.',
    },
    servers: [{ url: `${issuer}/api/v1` }],
    security: [{ session: [], csrf: [] }, { bearer: [] }],
    securitySchemes: {
      session: { type: 'apiKey', in: 'cookie', name: 'gl.admin', description: 'Developer Tools sign-in at /login' },
      csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token', description: 'Required with a session on POST, PATCH and DELETE; shown in the page' },
      bearer: { type: 'http', scheme: 'bearer', description: 'An access token (grantledger_pat_…, or glpat_… of the earlier format) of an active admin, with developer_tools:read (GET) or developer_tools:write (any method)' },
    },
    components: {
      Error: errorBodySchema,
      ConnectedApp: connectedAppSchema,
      ConnectedAppList: connectedAppListSchema,
      ConnectedAppDetail: connectedAppDetailSchema,
      Authorization: authorizationSchema,
      Revocation: revocationSchema,
      CompanyAccessChange: companyAccessChangeSchema,
      UserAuthorizationRevocation: userAuthorizationRevocationSchema,
      AccessToken: accessTokenSchema,
      AccessTokenList: accessTokenListSchema,
      CreatedAccessToken: createdAccessTokenSchema,
      ApiKey: apiKeySchema,
      ApiKeyList: apiKeyListSchema,
      CreatedApiKey: createdApiKeySchema,
      TokenRevocation: tokenRevocationSchema,
      AuditEvent: auditEventSchema,
      AuditPage: auditPageSchema,
    },
    requestComponents: { NewToken: newTokenSchema, CompanyAccessPatch: companyAccessPatchSchema },
    errorSchema: errorBodySchema,
    errors: {
      400: 'Invalid input',
      401: 'No valid session or bearer token',
      403: 'Not an active admin, CSRF token missing or wrong, or a bearer token without the developer_tools scope this needs (insufficient_scope)',
      404: 'Not found in your company',
      413: 'The request body is too large',
      415: 'The request body is not JSON',
    },
    routes,
  });
}
