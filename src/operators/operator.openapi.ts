// The OpenAPI 3.1 document of the operator API, served at /operator/v1/openapi.json: what the
// API is, how callers authenticate, the names of its schemas and what its error statuses mean.
// Operations and shapes come from the route declarations (operator.routes.ts).
import type { ApiRoute } from '../shared/api-route.js';
import { errorBodySchema } from '../shared/errors.js';
import { openApiDocument } from '../shared/openapi.js';
import {
  appListSchema, appPatchBody, appSchema, companyListSchema, companySchema, createdAppSchema, createdGatewaySchema, gatewayListSchema,
  gatewayPatchBody, gatewaySchema, newAppBody, newCompanyBody, newGatewayBody, newUserBody, rotateBody, rotatedSecretSchema,
  rotatedWebhookSecretSchema, userListSchema, userPatchBody, userSchema,
} from './operator.presenter.js';

export function operatorApiDocument(routes: readonly ApiRoute[], issuer: string) {
  return openApiDocument({
    info: {
      title: 'grantledger operator API', version: '1.0.0',
      description: 'Provisioning for the platform operator: companies and their users (idempotent on your own external_id), third-party apps and V2 API gateways. Every change is audited with the operator key’s name.',
    },
    servers: [{ url: `${issuer}/operator/v1` }],
    security: [{ operatorKey: [] }],
    securitySchemes: {
      operatorKey: { type: 'http', scheme: 'bearer', description: 'An operator key (glop_…) from `grantledger operator-key create --name N`' },
    },
    components: {
      Error: errorBodySchema,
      Company: companySchema, CompanyList: companyListSchema,
      User: userSchema, UserList: userListSchema,
      App: appSchema, AppList: appListSchema, CreatedApp: createdAppSchema,
      Gateway: gatewaySchema, GatewayList: gatewayListSchema, CreatedGateway: createdGatewaySchema,
      RotatedSecret: rotatedSecretSchema, RotatedWebhookSecret: rotatedWebhookSecretSchema,
    },
    requestComponents: {
      NewCompany: newCompanyBody, NewUser: newUserBody, UserPatch: userPatchBody, NewApp: newAppBody, AppPatch: appPatchBody,
      NewGateway: newGatewayBody, GatewayPatch: gatewayPatchBody, Rotation: rotateBody,
    },
    errorSchema: errorBodySchema,
    errors: {
      400: 'Invalid input: the message names the field',
      401: 'No valid operator key',
      404: 'Not found',
      409: 'Conflict (an e-mail taken in the company, a public app has no secret, a concurrent change)',
      413: 'The request body is too large',
      415: 'The request body is not JSON',
    },
    routes,
  });
}
