// What the operator sees of registered clients: apps and gateways, listed or one by one. Never a
// secret nor its hash — only whether the app is public and where its webhooks go.
import type { Executor } from '../db/database.js';
import { notFound } from '../shared/errors.js';
import { registeredScopes, type ClientKind, type GrantType } from './clients.js';

export interface GatewaySummary {
  clientId: string;
  name: string;
  createdAt: number;
}

export interface AppSummary extends GatewaySummary {
  grantTypes: GrantType[];
  redirectUris: string[];
}

export interface AppDetails extends AppSummary {
  public: boolean;
  /** What the app may ask for (authorization requests beyond it are withheld). */
  scopes: string[];
  webhookUrl: string | null;
  logoUri: string | null;
  homepage: string | null;
}

interface Row {
  client_id: string;
  name: string;
  metadata: string;
  webhook_url: string | null;
  created_at: number;
}

const COLUMNS = 'client_id, name, metadata, webhook_url, created_at';

function toApp(row: Row): AppDetails {
  const m = JSON.parse(row.metadata) as Record<string, unknown>;
  return {
    clientId: row.client_id, name: row.name, createdAt: Number(row.created_at),
    grantTypes: (m.grant_types as GrantType[] | undefined) ?? [],
    redirectUris: (m.redirect_uris as string[] | undefined) ?? [],
    public: m.token_endpoint_auth_method === 'none',
    scopes: registeredScopes(m),
    webhookUrl: row.webhook_url,
    logoUri: typeof m.logo_uri === 'string' ? m.logo_uri : null,
    homepage: typeof m.client_uri === 'string' ? m.client_uri : null,
  };
}

// Clients are few (registered by the operator) and these reads are not on a hot path: no index
// on `kind` is needed.
async function list(db: Executor, kind: ClientKind): Promise<Row[]> {
  return db.all<Row>(`SELECT ${COLUMNS} FROM clients WHERE kind = ? ORDER BY created_at, client_id`, [kind]);
}

/** Every registered third-party app, oldest first. */
export async function listApps(db: Executor): Promise<AppDetails[]> {
  return (await list(db, 'app')).map(toApp);
}

/** Every registered V2 API gateway, oldest first. */
export async function listGateways(db: Executor): Promise<GatewaySummary[]> {
  return (await list(db, 'gateway')).map((r) => ({ clientId: r.client_id, name: r.name, createdAt: Number(r.created_at) }));
}

/** One app; a gateway's id or an unknown id is "not found". */
export async function getApp(db: Executor, clientId: string): Promise<AppDetails> {
  const row = await db.get<Row>(`SELECT ${COLUMNS} FROM clients WHERE client_id = ? AND kind = 'app'`, [clientId]);
  if (!row) throw notFound(`App ${clientId}`);
  return toApp(row);
}
