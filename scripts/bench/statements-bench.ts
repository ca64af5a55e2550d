// Section 6: database statements per introspection, counted in-process with `db.statements`
// (the executor's counter) around N sequential introspections of each kind of token, after a
// short warm-up (the first, cold call is reported separately: it also loads the client).
import * as oidc from 'openid-client';
import { loadSettings } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import type { Database, Params } from '../../src/db/database.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { createLogger } from '../../src/shared/logger.js';
import { freePort } from '../../test/helpers/http.js';
import { connect, introspect, rpConfig } from '../../test/helpers/oauth.js';
import { log, round } from './common.js';
import { CC_SCOPE, createBenchDatabase, FLOW_SCOPE, openMigrated, seedOurs, type Dialect } from './fixtures.js';

export interface StatementCount {
  dialect: Dialect;
  kind: string;
  /** Expected answer (active or not) and whether every answer matched it. */
  expectActive: boolean;
  answersOk: boolean;
  cold: number;
  perRequest: number;
  /** Statements issued outside transactions during the counted calls, by SQL (first words), per request. */
  bySql: Record<string, number>;
}

/** Records the SQL of every statement issued through the executor's top-level methods. */
function traceSql(db: Database): Map<string, number> {
  const seen = new Map<string, number>();
  const wrap = <F extends (sql: string, params?: Params) => Promise<unknown>>(fn: F): F =>
    ((sql: string, params?: Params) => {
      const key = sql.replace(/\s+/g, ' ').trim().slice(0, 90);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return fn(sql, params);
    }) as F;
  const target = db as unknown as Record<'all' | 'get' | 'run', (sql: string, params?: Params) => Promise<unknown>>;
  for (const m of ['all', 'get', 'run'] as const) target[m] = wrap(target[m].bind(db));
  return seen;
}

export async function statementsBench(opts: { dialects: Dialect[]; n: number; dir: string; pgBase: string }): Promise<StatementCount[]> {
  const out: StatementCount[] = [];
  for (const dialect of opts.dialects) {
    const bench = await createBenchDatabase(dialect, 'statements', opts.dir, opts.pgBase);
    const db = await openMigrated(bench.url);
    const sqlSeen = traceSql(db);
    const secretKey = randomSecret(32);
    const fx = await seedOurs(db, Buffer.from(secretKey, 'base64url'));
    const port = await freePort();
    const settings = await loadSettings({
      server: { port, host: '127.0.0.1', issuer: `http://127.0.0.1:${port}` },
      database: { url: bench.url }, secrets: { secretKey }, logLevel: 'warn', bootstrap: false,
    }, { NODE_ENV: 'production' });
    const running = await startServer(settings, { db, logger: createLogger('warn') });
    try {
      const config = await rpConfig(running, fx.app);
      const { tokens } = await connect(running, config, fx.app, fx.admin, { scope: FLOW_SCOPE });
      const cc = await oidc.clientCredentialsGrant(config, { scope: CC_SCOPE, company: fx.company.guid });
      const badPat = fx.pat.slice(0, -1) + (fx.pat.endsWith('A') ? 'B' : 'A');
      const kinds: Array<{ kind: string; token: string; active: boolean }> = [
        { kind: 'OAuth access token', token: tokens.access_token, active: true },
        { kind: 'client-credentials token', token: cc.access_token, active: true },
        { kind: 'access token (PAT)', token: fx.pat, active: true },
        { kind: 'API key', token: fx.apiKey, active: true },
        { kind: 'refresh token (gateway: inactive)', token: tokens.refresh_token!, active: false },
        { kind: 'unknown opaque token', token: randomSecret(32), active: false },
        { kind: 'PAT with a wrong checksum', token: badPat, active: false },
      ];
      for (const k of kinds) {
        let ok = true;
        const check = async () => {
          if ((await introspect(running, fx.gateway, k.token)).body.active !== k.active) ok = false;
        };
        const c0 = db.statements;
        await check();
        const cold = db.statements - c0;
        for (let i = 0; i < 5; i++) await check();
        const before = db.statements;
        sqlSeen.clear();
        for (let i = 0; i < opts.n; i++) await check();
        const perRequest = (db.statements - before) / opts.n;
        const bySql = Object.fromEntries([...sqlSeen].map(([q, n]) => [q, n / opts.n]));
        out.push({ dialect, kind: `introspection: ${k.kind}`, expectActive: k.active, answersOk: ok, cold, perRequest, bySql });
        log(`statements ${dialect} ${k.kind}: ${round(perRequest, 2)} per introspection (cold ${cold})${ok ? '' : ' — UNEXPECTED ANSWER'}`);
      }
      // Client-credentials issuance, for reference.
      const before = db.statements;
      sqlSeen.clear();
      const n = Math.max(10, Math.round(opts.n / 4));
      for (let i = 0; i < n; i++) await oidc.clientCredentialsGrant(config, { scope: CC_SCOPE, company: fx.company.guid });
      const per = (db.statements - before) / n;
      const bySql = Object.fromEntries([...sqlSeen].map(([q, c]) => [q, c / n]));
      out.push({ dialect, kind: 'client-credentials token issuance', expectActive: true, answersOk: true, cold: NaN, perRequest: per, bySql });
      log(`statements ${dialect} client-credentials issuance: ${round(per, 2)} per token`);
    } finally {
      await running.close();
      await db.close();
      await bench.drop();
    }
  }
  return out;
}
