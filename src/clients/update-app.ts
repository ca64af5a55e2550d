// Changes a registered app's metadata: its name, redirect URIs (the whole list is replaced),
// webhook URL, logo and homepage. The result is validated by the same rules as at creation
// (newAppSchema, on the merged app), so an update cannot make an app that `createApp` would
// refuse. An app that gets its first webhook URL gets a webhook signing secret, returned once.
//
// Running servers cache client metadata per process — createClientLookup's 60 s, and the built
// Client objects (src/oidc/provider.ts) for another 60 s — so the change reaches every process
// within two minutes, without a restart.
import type { Database } from '../db/database.js';
import { conflict, notFound } from '../shared/errors.js';
import { encrypt, randomSecret } from '../shared/crypto.js';
import { validate } from '../shared/validation.js';
import { getApp, type AppDetails } from './client-queries.js';
import { appMetadata, newAppSchema, WEBHOOK_SECRET_PREFIX, type NewApp } from './clients.js';

export interface AppChange {
  name?: string;
  redirectUris?: string[];
  webhookUrl?: string;
  logoUri?: string;
  homepage?: string;
  /** The scopes the app may ask for, replacing the list. */
  scopes?: string[];
}

export async function updateApp(
  db: Database, kek: Buffer, clientId: string, change: AppChange,
): Promise<{ app: AppDetails; webhookSecret?: string }> {
  return db.transaction(async (tx) => {
    const row = await tx.get<{ metadata: string; webhook_secret: string | null }>(
      "SELECT metadata, webhook_secret FROM clients WHERE client_id = ? AND kind = 'app'", [clientId],
    );
    if (!row) throw notFound(`App ${clientId}`);
    const current = await getApp(tx, clientId);
    const merged: NewApp = {
      name: change.name ?? current.name,
      redirectUris: change.redirectUris ?? current.redirectUris,
      public: current.public,
      grantTypes: current.grantTypes,
      webhookUrl: change.webhookUrl ?? current.webhookUrl ?? undefined,
      logoUri: change.logoUri ?? current.logoUri ?? undefined,
      homepage: change.homepage ?? current.homepage ?? undefined,
      scopes: change.scopes ?? current.scopes,
    };
    const app = validate(newAppSchema, merged);
    const webhookSecret = app.webhookUrl && !row.webhook_secret ? WEBHOOK_SECRET_PREFIX + randomSecret(32) : undefined;
    const metadata = { ...(JSON.parse(row.metadata) as Record<string, unknown>), ...appMetadata(app) };
    // Conditional on the metadata read above: on PostgreSQL two concurrent updates of one app
    // would otherwise silently lose one of them (SQLite serialises transactions anyway).
    const { changes } = await tx.run(
      'UPDATE clients SET name = ?, metadata = ?, webhook_url = ?, webhook_secret = COALESCE(?, webhook_secret) WHERE client_id = ? AND metadata = ?',
      [app.name, JSON.stringify(metadata), app.webhookUrl ?? null, webhookSecret ? encrypt(kek, webhookSecret) : null, clientId, row.metadata],
    );
    if (changes === 0) throw conflict('The app was changed by someone else meanwhile: run the update again.');
    return { app: await getApp(tx, clientId), ...(webhookSecret ? { webhookSecret } : {}) };
  });
}
