// A/B experiments for proposed src/ optimisations, without touching src/: the project is compiled
// into bench-results/.build (as run.ts does), each variant is a copy of that output with small
// text patches applied to the compiled JavaScript, and every variant runs as its own server
// process on one shared database, measured in interleaved rounds against the stock provider
// (req/s and server CPU µs per request, which is less sensitive to a busy machine).
// The patches match the compiled code of the commit they were written for; when src/ changes
// a patch that no longer applies stops the run with "patch … not found".
//
//   npx tsx scripts/bench/experiments.ts [--variants=a,b+c,all,node:--flag] [--what=oauth,pat,cc]
//        [--dialect=sqlite|postgres] [--duration=S] [--rounds=N]
// Variants: a patch name (below), several joined with +, `all` (every patch but fastPath and
// groupCommit), or node:<flags> (the unpatched build with node flags). `base` is always included.
//   noSession   provider.ts: expiresWithSession → false (no Session lookup at introspection)
//   kind        provider.ts, usage.middleware.ts: client[KIND_PROPERTY] instead of client.metadata()[…]
//   shaOnce     adapter.ts: hash a token id once for the coalesced AccessToken/ClientCredentials/RefreshToken lookup
//   joinGrant   adapter.ts: fetch the token's Grant in the token statement, serve the Grant.find that follows
//               (needs an index on oidc_payloads (grant_id, model), created here on the experiment database)
//   routeFirst  app.ts: send OAuth paths straight to the provider, before the four routers
//   fastPath    app.ts: PROTOTYPE gateway introspection outside oidc-provider (OAuth access tokens only)
//   groupCommit database.ts: writes issued in the same event-loop turn share one SQLite transaction
// Do not measure oauth and cc in one run: the stock provider's in-memory LRU (1,000 entries) evicts
// its introspected tokens under client-credentials load.
import { cpSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecret } from '../../src/shared/crypto.js';
import { freePort, log } from './common.js';
import { CC_SCOPE, createBenchDatabase, oauthTokenPool, openMigrated, pgBackendPids, seedOurs, type Dialect } from './fixtures.js';
import { cpuOf, prepareRuntime, ROOT, spawnHelper, spawnOurs, type Runtime, type Child } from './procs.js';
import { clientCredentialsSpec, expectActive, expectToken, interleaved, introspectionSpec, pairedCpuRatio, pairedRatio, type Case } from './throughput.js';

type Patch = { file: string; from: string; to: string };
const FAST = `    app.use(errorHandler(logger));
    // PROTOTYPE fast path (benchmark experiment): OAuth access-token introspection by a gateway, outside oidc-provider.
    const fpClients = new Map();
    const fpSha = (v) => fpCreateHash('sha256').update(v).digest('base64url');
    const FP_SQL = "SELECT t.model, t.payload, t.expires_at, t.consumed_at, g.payload AS g_payload, g.expires_at AS g_expires_at FROM oidc_payloads t LEFT JOIN oidc_payloads g ON g.grant_id = t.grant_id AND g.model = 'Grant' WHERE t.id = ? AND t.model IN ('AccessToken', 'ClientCredentials')";
    app.use(async (ctx, next) => {
        if (ctx.method !== 'POST' || ctx.path !== '/token/introspection') return next();
        const auth = ctx.get('authorization');
        if (!auth.startsWith('Basic ') || !ctx.is('application/x-www-form-urlencoded')) return next();
        const decoded = Buffer.from(auth.slice(6), 'base64').toString();
        const i = decoded.indexOf(':');
        const id = decodeURIComponent(decoded.slice(0, i));
        const secret = decodeURIComponent(decoded.slice(i + 1));
        let c = fpClients.get(id);
        if (!c || c.until < Date.now()) {
            const row = await services.db.get('SELECT kind, secret_hash FROM clients WHERE client_id = ?', [id]);
            c = row ? { kind: row.kind, secretHash: row.secret_hash, until: Date.now() + 60000 } : undefined;
            if (c) fpClients.set(id, c);
        }
        if (!c || c.kind !== 'gateway' || fpSha(secret) !== c.secretHash) return next();
        let raw = '';
        for await (const chunk of ctx.req) raw += chunk;
        const token = new URLSearchParams(raw).get('token');
        ctx.set('cache-control', 'no-store');
        ctx.type = 'application/json';
        ctx.body = { active: false };
        if (!token || token.startsWith('gl')) return;
        const rows = await services.db.all(FP_SQL, [fpSha(token)]);
        const r = rows[0];
        const now = Date.now();
        if (!r || (r.expires_at !== null && r.expires_at <= now) || r.consumed_at !== null) return;
        const p = JSON.parse(r.payload);
        if (p.grantId) {
            if (!r.g_payload || (r.g_expires_at !== null && r.g_expires_at <= now)) return;
            const g = JSON.parse(r.g_payload);
            if (g.clientId !== p.clientId || g.accountId !== p.accountId) return;
        }
        ctx.body = { ...p.extra, active: true, sub: p.accountId, client_id: p.clientId, exp: p.exp, iat: p.iat, iss: settings.server.issuer, scope: p.scope, token_type: 'Bearer' };
        if (p.extra?.company_guid) services.lastUsed.connection(p.extra.company_guid, p.clientId);
        metrics.introspections.inc({ auth_type: 'oauth', active: 'true' });
    });`;
const PATCHES: Record<string, Patch[]> = {
  noSession: [{ file: 'src/oidc/provider.js', from: 'rotateRefreshToken: true,', to: 'rotateRefreshToken: true, expiresWithSession: async () => false,' }],
  kind: [
    { file: 'src/oidc/provider.js', from: 'client.metadata()[KIND_PROPERTY]', to: 'client[KIND_PROPERTY]' },
    { file: 'src/oidc/usage.middleware.js', from: 'ctx.oidc.client?.metadata()[KIND_PROPERTY]', to: 'ctx.oidc.client?.[KIND_PROPERTY]' },
  ],
  shaOnce: [
    { file: 'src/oidc/adapter.js', from: `            const hashed = sha256(id);
            if (TOKEN_MODELS.has(this.model)) {
                const rows = await findTokenRows(hashed);`, to: `            if (TOKEN_MODELS.has(this.model)) {
                const rows = await findTokenRows(id);`.replace('findTokenRows(id)', 'findTokenRows(id)') },
    { file: 'src/oidc/adapter.js', from: `                return revive(rows.find((r) => r.model === this.model), id);
            }`, to: `                return revive(rows.find((r) => r.model === this.model), id);
            }
            const hashed = sha256(id);` },
    { file: 'src/oidc/adapter.js', from: `WHERE id = ? AND model IN ('AccessToken', 'ClientCredentials', 'RefreshToken')\`, [hashed]);`, to: `WHERE id = ? AND model IN ('AccessToken', 'ClientCredentials', 'RefreshToken')\`, [sha256(hashed)]);` },
  ],
  joinGrant: [
    { file: 'src/oidc/adapter.js', from: "SELECT model, payload, expires_at, consumed_at FROM oidc_payloads\n         WHERE id = ? AND model IN ('AccessToken', 'ClientCredentials', 'RefreshToken')`", to: "SELECT t.model, t.payload, t.expires_at, t.consumed_at, t.grant_id AS g_id, g.payload AS g_payload, g.expires_at AS g_expires_at, g.consumed_at AS g_consumed_at FROM oidc_payloads t LEFT JOIN oidc_payloads g ON g.grant_id = t.grant_id AND g.model = 'Grant' WHERE t.id = ? AND t.model IN ('AccessToken', 'ClientCredentials', 'RefreshToken')`" },
    { file: 'src/oidc/adapter.js', from: '    const inflight = new Map();', to: '    const inflight = new Map();\n    const prefetched = new Map();' },
    { file: 'src/oidc/adapter.js', from: '            inflight.set(hashed, pending);', to: '            inflight.set(hashed, pending);\n            pending.then((rows) => { for (const r of rows) if (r.g_id && r.g_payload) { prefetched.set(r.g_id, { payload: r.g_payload, expires_at: r.g_expires_at, consumed_at: r.g_consumed_at }); setImmediate(() => prefetched.delete(r.g_id)); } }, () => {});' },
    { file: 'src/oidc/adapter.js', from: "            const row = await db.get('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND id = ?'", to: "            if (this.model === 'Grant' && prefetched.has(id)) { const p = prefetched.get(id); prefetched.delete(id); return revive(p, id); }\n            const row = await db.get('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND id = ?'" },
  ],
  routeFirst: [{ file: 'src/app.js', from: `    for (const router of [ops, interactions, admin, api]) {`, to: `    const oidcMount = mount(provider);
    const OIDC_PATH = /^\\/(token|auth|me|jwks|session|\\.well-known)(\\/|$)/;
    app.use((ctx, next) => (OIDC_PATH.test(ctx.path) ? oidcMount(ctx, next) : next()));
    for (const router of [ops, interactions, admin, api]) {` }],
  fastPath: [
    { file: 'src/app.js', from: "import Koa from 'koa';", to: "import Koa from 'koa';\nimport { createHash as fpCreateHash } from 'node:crypto';" },
    { file: 'src/app.js', from: '    app.use(errorHandler(logger));', to: FAST },
  ],
  groupCommit: [
    { file: 'src/db/database.js', from: `    async run(sql, params = []) {
        if (!this.#lock.locked)
            return this.#write(sql, params);`, to: `    #queue = [];
    async #flush() {
        const release = await this.#lock.acquire();
        const q = this.#queue;
        this.#queue = [];
        try {
            if (q.length === 1) { const j = q[0]; try { j.resolve(this.#write(j.sql, j.params)); } catch (e) { j.reject(e); } return; }
            this.writer.exec('BEGIN IMMEDIATE');
            const out = [];
            for (const j of q) { try { out.push([j, true, this.#write(j.sql, j.params)]); } catch (e) { out.push([j, false, e]); } }
            if (this.writer.inTransaction) this.writer.exec('COMMIT');
            for (const [j, ok, v] of out) (ok ? j.resolve : j.reject)(v);
        } catch (e) { for (const j of q) j.reject(e); } finally { release(); }
    }
    async run(sql, params = []) {
        if (!this.#lock.locked) return new Promise((resolve, reject) => {
            this.#queue.push({ sql, params, resolve, reject });
            if (this.#queue.length === 1) setImmediate(() => { void this.#flush(); });
        });` },
  ],
};

function patchedRuntime(name: string, base: string, patches: Patch[]): Runtime {
  const dir = join(ROOT, 'bench-results', `.exp-${name}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(base, dir, { recursive: true });
  for (const p of patches) {
    const f = join(dir, p.file);
    const text = readFileSync(f, 'utf8');
    if (!text.includes(p.from)) throw new Error(`patch ${name}: not found in ${p.file}: ${p.from.slice(0, 60)}`);
    writeFileSync(f, text.replace(p.from, p.to));
  }
  return { kind: 'build', args: (rel) => [join(dir, rel.replace(/\.ts$/, '.js'))] };
}

const args = process.argv.slice(2);
const variants = (args.find((a) => a.startsWith('--variants='))?.slice(11) ?? 'noSession,kind,shaOnce,routeFirst,all').split(',');
const dialect = (args.find((a) => a.startsWith('--dialect='))?.slice(10) ?? 'sqlite') as Dialect;
const what = (args.find((a) => a.startsWith('--what='))?.slice(7) ?? 'oauth').split(',');
const duration = Number(args.find((a) => a.startsWith('--duration='))?.slice(11) ?? 8);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const base = prepareRuntime('build');
const baseDir = join(ROOT, 'bench-results', '.build');
const tmp = mkdtempSync(join(tmpdir(), 'gl-exp-'));
const pgBase = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL! : 'postgres://postgres@127.0.0.1/test';
const bench = await createBenchDatabase(dialect, 'exp', tmp, pgBase);
const secretKey = randomSecret(32);
const db = await openMigrated(bench.url);
await db.run('CREATE INDEX ix_exp_grant_model ON oidc_payloads (grant_id, model)');
const fx = await seedOurs(db, Buffer.from(secretKey, 'base64url'), 64);
await db.close();
const children: Child[] = [];
const cases: Case[] = [];
try {
  const stock = await spawnHelper('stock', base, 'scripts/bench/stock-provider.ts', { PORT: String(await freePort()), POOL: '64' });
  children.push(stock);
  const si = stock.info as { gateway: { clientId: string; clientSecret: string }; app: { clientId: string; clientSecret: string }; accessTokens: string[]; ccScope: string };
  if (what.includes('oauth')) { const s = introspectionSpec(stock.url, si.gateway, si.accessTokens); cases.push({ id: 'stock-oauth', label: 'stock oauth', spec: s, verify: expectActive(s), cpu: async () => stock.cpu() }); }
  if (what.includes('cc')) { const s = clientCredentialsSpec(stock.url, si.app, { scope: si.ccScope }); cases.push({ id: 'stock-cc', label: 'stock cc', spec: s, verify: expectToken(s), cpu: async () => stock.cpu() }); }
  for (const v of ['base', ...variants]) {
    const combo = (names: string[]) => names.flatMap((n) => PATCHES[n]!);
    const nodeArgs = v.startsWith('node:') ? v.slice(5).split(' ') : [];
    const rt = v === 'base' || nodeArgs.length ? base : patchedRuntime(v, baseDir,
      v === 'all' ? combo(Object.keys(PATCHES).filter((k) => !['groupCommit', 'fastPath'].includes(k)))
        : v.includes('+') ? combo(v.split('+')) : PATCHES[v]!);
    const child = await spawnOurs(v, rt, { databaseUrl: bench.url, secretKey, nodeArgs });
    children.push(child);
    const cpu = async () => new Map([...child.cpu(), ...(bench.name ? cpuOf(await pgBackendPids(pgBase, bench.name)) : [])]);
    if (what.includes('oauth')) {
      const pool = await oauthTokenPool(child.url, fx, 64);
      const s = introspectionSpec(child.url, fx.gateway, pool);
      cases.push({ id: `${v}-oauth`, label: `${v} oauth`, spec: s, verify: expectActive(s), cpu });
    }
    if (!what.includes('oauth') && v === 'base') await oauthTokenPool(child.url, fx, 1);
    if (what.includes('pat')) { const s = introspectionSpec(child.url, fx.gateway, fx.pats); cases.push({ id: `${v}-pat`, label: `${v} pat`, spec: s, verify: expectActive(s), cpu }); }
    if (what.includes('cc')) { const s = clientCredentialsSpec(child.url, fx.app, { scope: CC_SCOPE, company: fx.company.guid }); cases.push({ id: `${v}-cc`, label: `${v} cc`, spec: s, verify: expectToken(s), cpu }); }
  }
  const res = await interleaved('exp', cases, { generator: 'wrk', connections: 32, duration }, rounds, 2);
  for (const w of what) {
    const st = res.find((r) => r.id === `stock-${w}`);
    const b = res.find((r) => r.id === `base-${w}`)!;
    for (const r of res.filter((x) => x.id.endsWith(`-${w}`))) {
      log(`${r.label.padEnd(26)} ${Math.round(r.rps)} req/s p99 ${r.p99Ms.toFixed(1)}  × base ${pairedRatio(r, b).ratio.toFixed(3)}${st ? `  × stock ${pairedRatio(r, st).ratio.toFixed(3)}` : ''} | CPU ${Math.round(r.cpuUsPerReq ?? NaN)} µs/req  cpu-eff × base ${pairedCpuRatio(r, b).toFixed(3)}${st ? `  × stock ${pairedCpuRatio(r, st).toFixed(3)}` : ''} ${JSON.stringify(r.rounds.map((x) => Math.round(x.cpuUsPerReq ?? NaN)))}`);
    }
  }
} finally {
  for (const c of children) await c.stop();
  await bench.drop();
}
process.exit(0);
