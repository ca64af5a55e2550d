// The JSON shapes of registered clients for operators (the CLI's --json, the operator API).
// No secret and no hash ever goes through here.
import type { AppDetails, AppSummary, GatewaySummary } from './client-queries.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function presentAppSummary(a: AppSummary) {
  return { client_id: a.clientId, name: a.name, grant_types: a.grantTypes, redirect_uris: a.redirectUris, created_at: iso(a.createdAt) };
}

export function presentApp(a: AppDetails) {
  return {
    client_id: a.clientId, name: a.name, public: a.public, grant_types: a.grantTypes, redirect_uris: a.redirectUris, scopes: a.scopes,
    webhook_url: a.webhookUrl, logo_uri: a.logoUri, homepage: a.homepage, created_at: iso(a.createdAt),
  };
}

export function presentGateway(g: GatewaySummary) {
  return { client_id: g.clientId, name: g.name, created_at: iso(g.createdAt) };
}
