// Signing keys (JWKS) and cookie keys: generated on first start, stored in the `keys` table
// encrypted with SECRET_KEY, shared by every instance on the database. Rotation inserts new keys
// first; older signing keys stay published for verification.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { Database, Executor } from '../db/database.js';
import { decrypt, encrypt, randomSecret } from '../shared/crypto.js';

export interface KeyMaterial {
  /** Private JWKs, newest first (oidc-provider signs with the first key of each algorithm). */
  jwks: { keys: Array<Record<string, unknown>> };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  /** The key set's version (see keysVersion), read with the keys. */
  version: string;
}

/** Signing keys kept per algorithm after a rotation (the newest signs, the rest verify). */
const KEEP_GENERATIONS = 3;

export class SecretKeyError extends Error {}

/**
 * The key-encryption key: SECRET_KEY, or a key generated once into SECRET_KEY_FILE (its folder
 * must exist: config.ts prepareDataDir makes the data directory). `create: false` (the CLI's
 * commands other than migrate) refuses to generate one: a new key could not decrypt what the
 * server stored with the one it uses.
 */
export function loadSecretKey(secretKey: string | undefined, secretKeyFile: string, { create = true } = {}): Buffer {
  if (secretKey) return Buffer.from(secretKey, 'base64url');
  const file = resolve(secretKeyFile);
  if (!existsSync(file)) {
    if (!create) throw new SecretKeyError(`no secret key at ${file}; set SECRET_KEY or SECRET_KEY_FILE as the server has it, or run "grantledger migrate" to create the data directory`);
    if (!existsSync(dirname(file))) throw new SecretKeyError(`cannot create the secret key ${file}: the folder ${dirname(file)} does not exist (create it, or set DATA_DIR / SECRET_KEY_FILE)`);
    try {
      writeFileSync(file, randomSecret(32) + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SecretKeyError(`cannot create the secret key ${file}: ${(err as Error).message}`);
    }
  }
  let value: string;
  try {
    value = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new SecretKeyError(`cannot read the secret key ${file}: ${(err as Error).message}`);
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new SecretKeyError(`${file} does not hold a 32-byte base64url key; delete it or set SECRET_KEY`);
  }
  return Buffer.from(value, 'base64url');
}

async function newGeneration(): Promise<Array<{ kid: string; use: string; material: string }>> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const rows = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const kid = `${alg.toLowerCase()}-${stamp}-${randomSecret(4)}`;
    const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
    rows.push({ kid, use: 'sig', material: JSON.stringify(jwk) });
  }
  rows.push({ kid: `cookie-${stamp}-${randomSecret(4)}`, use: 'cookie', material: randomSecret(32) });
  return rows;
}

async function insertGeneration(tx: Executor, kek: Buffer, createdAt: number): Promise<void> {
  for (const row of await newGeneration()) {
    await tx.run('INSERT INTO keys (kid, use, material, created_at) VALUES (?, ?, ?, ?)', [
      row.kid, row.use, encrypt(kek, row.material), createdAt,
    ]);
  }
}

/** Serialises key creation across instances (SQLite: BEGIN IMMEDIATE already does). */
async function lockKeys(db: Database, tx: Executor): Promise<void> {
  if (db.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(72018)');
}

export async function ensureKeys(db: Database, kek: Buffer): Promise<{ created: boolean }> {
  return db.transaction(async (tx) => {
    await lockKeys(db, tx);
    const existing = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM keys');
    if (Number(existing?.n ?? 0) > 0) return { created: false };
    await insertGeneration(tx, kek, Date.now());
    return { created: true };
  });
}

export async function rotateKeys(db: Database, kek: Buffer): Promise<{ kids: string[]; retired: string[] }> {
  return db.transaction(async (tx) => {
    await lockKeys(db, tx);
    // Keys of one generation share a created_at; strictly newer than any existing key.
    const last = await tx.get<{ t: number | null }>('SELECT MAX(created_at) AS t FROM keys');
    await insertGeneration(tx, kek, Math.max(Date.now(), Number(last?.t ?? 0) + 1));
    const rows = await tx.all<{ kid: string; use: string }>('SELECT kid, use FROM keys ORDER BY created_at DESC, kid');
    const seen = new Map<string, number>();
    const retired: string[] = [];
    for (const { kid, use } of rows) {
      const family = use === 'cookie' ? 'cookie' : kid.split('-')[0]!;
      const n = (seen.get(family) ?? 0) + 1;
      seen.set(family, n);
      if (n > KEEP_GENERATIONS) retired.push(kid);
    }
    for (const kid of retired) await tx.run('DELETE FROM keys WHERE kid = ?', [kid]);
    return { kids: rows.filter((r) => !retired.includes(r.kid)).map((r) => r.kid), retired };
  });
}

/** Identifies the stored key set: it changes when keys are rotated or retired. */
export async function keysVersion(db: Database): Promise<string> {
  return versionOf(await db.all<{ kid: string }>('SELECT kid FROM keys ORDER BY created_at DESC, kid'));
}

const versionOf = (rows: Array<{ kid: string }>) => rows.map((r) => r.kid).join(' ');

export async function loadKeys(db: Database, kek: Buffer): Promise<KeyMaterial> {
  const rows = await db.all<{ kid: string; use: string; material: string }>(
    'SELECT kid, use, material FROM keys ORDER BY created_at DESC, kid',
  );
  const open = (sealed: string) => {
    try {
      return decrypt(kek, sealed);
    } catch {
      throw new SecretKeyError(
        'the stored keys were encrypted with another SECRET_KEY: give every instance the same SECRET_KEY (or SECRET_KEY_FILE)',
      );
    }
  };
  const jwks = rows.filter((r) => r.use === 'sig').map((r) => JSON.parse(open(r.material)) as Record<string, unknown>);
  const cookieKeys = rows.filter((r) => r.use === 'cookie').map((r) => open(r.material));
  return { jwks: { keys: jwks }, cookieKeys, version: versionOf(rows) };
}
