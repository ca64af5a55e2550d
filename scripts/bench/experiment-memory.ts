// Peak resident memory and CPU per request of our server (its own process) under introspection and
// client-credentials load, with V8 / glibc settings that bound the heap (experiment behind the
// memory proposals in the benchmark report):  npx tsx scripts/bench/experiment-memory.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecret } from '../../src/shared/crypto.js';
import { createBenchDatabase, oauthTokenPool, openMigrated, seedOurs } from './fixtures.js';
import { runLoad } from './load.js';
import { cpuDelta, prepareRuntime, spawnOurs } from './procs.js';
import { clientCredentialsSpec, introspectionSpec } from './throughput.js';

const variants: Array<[string, string[], Record<string, string>]> = [
  ['default', [], {}],
  ['--max-semi-space-size=8', ['--max-semi-space-size=8'], {}],
  ['--max-semi-space-size=4', ['--max-semi-space-size=4'], {}],
  ['MALLOC_ARENA_MAX=2', [], { MALLOC_ARENA_MAX: '2' }],
  ['--optimize-for-size', ['--optimize-for-size'], {}],
];
const runtime = prepareRuntime('build');
const tmp = mkdtempSync(join(tmpdir(), 'gl-mem-'));
const bench = await createBenchDatabase('sqlite', 'mem', tmp, '');
const secretKey = randomSecret(32);
const db = await openMigrated(bench.url);
const fx = await seedOurs(db, Buffer.from(secretKey, 'base64url'), 64);
await db.close();
let pool: string[] | undefined;
for (let rep = 0; rep < 2; rep++) for (const [name, nodeArgs, env] of variants) {
  const child = await spawnOurs(name, runtime, { databaseUrl: bench.url, secretKey, nodeArgs, env });
  pool ??= await oauthTokenPool(child.url, fx, 64);
  const c0 = child.cpu();
  let n = 0;
  for (const spec of [introspectionSpec(child.url, fx.gateway, pool), introspectionSpec(child.url, fx.gateway, fx.pats), clientCredentialsSpec(child.url, fx.app, { scope: 'schedules:read', company: fx.company.guid })]) {
    n += (await runLoad(spec, { generator: 'wrk', connections: 32, duration: 6 })).requests;
  }
  const m = child.memory();
  console.log(`${name.padEnd(26)} after ${Math.round(m.rssKb * 1.024 / 1000)} MB  peak ${Math.round(m.hwmKb * 1.024 / 1000)} MB  cpu ${Math.round(cpuDelta(c0, child.cpu()) * 1e6 / n)} µs/req`);
  await child.stop();
}
await bench.drop();
process.exit(0);
