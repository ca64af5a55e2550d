// Section 5: resident memory of a server process (src/main.ts, its own process) whose SQLite
// database holds N stored tokens: bulk-insert the rows, start the server, read VmRSS idle, drive
// introspection and client-credentials load, read VmRSS / VmHWM (/proc/<pid>/status) and the
// server's own /metrics gauge.
import { statSync } from 'node:fs';
import { randomSecret } from '../../src/shared/crypto.js';
import { bulkInsert } from './bulk.js';
import { log, sleep } from './common.js';
import { CC_SCOPE, createBenchDatabase, insertUsers, oauthTokenPool, openMigrated, seedOurs } from './fixtures.js';
import { runLoad, type LoadSettings } from './load.js';
import { spawnOurs, type Runtime } from './procs.js';
import { clientCredentialsSpec, introspectionSpec } from './throughput.js';

export interface MemoryResult {
  storedTokens: number;
  dbFileMb: number;
  runtime: string;
  idleRssMb: number;
  afterLoadRssMb: number;
  peakRssMb: number;
  metricsRssMb?: number;
  rpsDuringLoad: Record<string, number>;
}

/** kB (KiB, as /proc reports) → MB (10^6 bytes, the stricter reading of the goal), one decimal. */
const mb = (kb: number) => Math.round((kb * 1024) / 1e5) / 10;

export async function memoryBench(opts: {
  tokens: number; dir: string; runtime: Runtime; load: LoadSettings; pool: number;
}): Promise<MemoryResult> {
  const bench = await createBenchDatabase('sqlite', 'memory', opts.dir, '');
  const secretKey = randomSecret(32);
  const db = await openMigrated(bench.url);
  const fx = await seedOurs(db, Buffer.from(secretKey, 'base64url'), opts.pool);
  const usersA = [fx.admin.guid, ...(await insertUsers(db, fx.company.id, 499, 'a'))];
  const usersB = await insertUsers(db, fx.otherCompany.id, 500, 'b');
  await db.close();
  const half = Math.floor(opts.tokens / 2);
  await bulkInsert(bench.url, [
    { count: half, accounts: usersA, clientId: fx.app.clientId, companyGuid: fx.company.guid },
    { count: opts.tokens - half, accounts: usersB, clientId: fx.app.clientId, companyGuid: fx.otherCompany.guid },
  ], `memory: inserting ${opts.tokens.toLocaleString('en-US')} token rows into SQLite`);
  const dbFileMb = Math.round(statSync(bench.file!).size / 1e5) / 10;

  const server = await spawnOurs('ours (memory)', opts.runtime, { databaseUrl: bench.url, secretKey });
  try {
    await sleep(2000);
    const idle = server.memory();
    log(`memory: server idle with ${opts.tokens.toLocaleString('en-US')} stored tokens: VmRSS ${mb(idle.rssKb)} MB`);
    const oauth = await oauthTokenPool(server.url, fx, opts.pool);
    const rps: Record<string, number> = {};
    const specs = {
      'OAuth introspection': introspectionSpec(server.url, fx.gateway, oauth),
      'PAT introspection': introspectionSpec(server.url, fx.gateway, fx.pats),
      'API key introspection': introspectionSpec(server.url, fx.gateway, fx.apiKeys),
      'client credentials': clientCredentialsSpec(server.url, fx.app, { scope: CC_SCOPE, company: fx.company.guid }),
    };
    for (const [name, spec] of Object.entries(specs)) {
      const r = await runLoad(spec, opts.load);
      rps[name] = Math.round(r.rps);
      log(`memory: ${name} ${Math.round(r.rps)} req/s, VmRSS now ${mb(server.memory().rssKb)} MB`);
    }
    const after = server.memory();
    let metricsRssMb: number | undefined;
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const m = /^grantledger_process_resident_memory_bytes (\d+)/m.exec(text);
      if (m) metricsRssMb = Math.round(Number(m[1]) / 1e5) / 10; // bytes → MB
    } catch {
      // metrics are a cross-check only
    }
    return {
      storedTokens: opts.tokens, dbFileMb, runtime: opts.runtime.kind,
      idleRssMb: mb(idle.rssKb), afterLoadRssMb: mb(after.rssKb), peakRssMb: mb(after.hwmKb), metricsRssMb, rpsDuringLoad: rps,
    };
  } finally {
    await server.stop();
    await bench.drop();
  }
}
