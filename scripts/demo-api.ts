// Demo V2 API behind the grantledger gateway kit — `npm run demo:api`.
//
//   GET  /v2/company        needs company:read
//   GET  /v2/schedules      needs schedules:read
//   POST /v2/time-punches   needs timepunches:write      body {"type": "in" | "out"}
//   GET  /healthz           open
//
// Settings (environment): GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET (required), ISSUER (default
// http://localhost:3000), DEMO_PORT (default 4000), DEMO_CACHE_TTL_MS (default 0: no cache),
// DEMO_TIMEOUT_MS (introspection deadline, default 2000).
//
// The whole path, from a fresh checkout (grantledger on :3000, this API on :4000):
//
//  1. Start grantledger. A first start prints the admin's e-mail and password.
//       npm start
//  2. Register this API as a gateway, and a third-party app (each secret is shown once):
//       npx grantledger gateway create --name "Demo V2 API" --json
//         → {"client_id":"<GATEWAY_ID>","client_secret":"<GATEWAY_SECRET>"}
//       npx grantledger client create --name "Demo App" --redirect-uri http://localhost:8080/callback --json
//         → {"client_id":"<APP_ID>","client_secret":"<APP_SECRET>"}
//  3. Start this API:
//       GATEWAY_CLIENT_ID=<GATEWAY_ID> GATEWAY_CLIENT_SECRET=<GATEWAY_SECRET> npm run demo:api
//  4. Connect the app — authorization code + PKCE, the admin in a browser:
//       VERIFIER=$(node -e "console.log(crypto.randomBytes(32).toString('base64url'))")
//       CHALLENGE=$(node -e "console.log(crypto.createHash('sha256').update(process.argv[1]).digest('base64url'))" "$VERIFIER")
//       echo "http://localhost:3000/auth?response_type=code&client_id=<APP_ID>&redirect_uri=http://localhost:8080/callback&scope=openid%20company:read%20schedules:read%20timepunches:write&state=demo&code_challenge=$CHALLENGE&code_challenge_method=S256"
//     Open that URL, sign in, allow. The browser goes to http://localhost:8080/callback?code=<CODE>&…
//     (nothing listens there: copy <CODE> from the address bar), and the app redeems the code:
//       curl -s -u "<APP_ID>:<APP_SECRET>" http://localhost:3000/token -d grant_type=authorization_code \
//         -d code=<CODE> -d redirect_uri=http://localhost:8080/callback -d code_verifier="$VERIFIER"
//         → {"access_token":"<TOKEN>","token_type":"Bearer",…}
//  5. The app calls the API:
//       curl -i -H "Authorization: Bearer <TOKEN>" http://localhost:4000/v2/schedules              → 200
//       curl -i -H "Authorization: Bearer <TOKEN>" -H "content-type: application/json" \
//         -d '{"type":"in"}' http://localhost:4000/v2/time-punches                                 → 201
//  6. The admin revokes the app: http://localhost:3000/settings/developer-tools → Connected Apps →
//     Revoke access. Or with an access token of the admin:
//       npx grantledger access-token create --email admin@example.com --name cli --json → {"token":"<PAT>",…}
//       curl -X DELETE -H "Authorization: Bearer <PAT>" http://localhost:3000/api/v1/connected-apps/<APP_ID>
//  7. The app's next call is refused:
//       curl -i -H "Authorization: Bearer <TOKEN>" http://localhost:4000/v2/schedules
//         → 401, WWW-Authenticate: Bearer realm="demo-v2", error="invalid_token"
//     (Access tokens and API keys from Developer Tools work with this API too: auth_type tells them apart.)
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Router from '@koa/router';
import Koa from 'koa';
import { createGateway, type Gateway, type GatewayOptions, type GatewayState } from '../src/gateway/index.js';

export interface DemoApiOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  cacheTtlMs?: number;
  /** Deadline of one introspection (default 2000 ms). */
  timeoutMs?: number;
  /** Where 503 causes are reported (the demo prints them). */
  onError?: GatewayOptions['onError'];
}

interface TimePunch {
  id: string;
  type: 'in' | 'out';
  at: string;
  recorded_by: { auth_type: string; client_id: string | null; sub: string | null };
}

const MAX_BODY = 16 * 1024;
const MAX_PUNCHES_PER_COMPANY = 100;

const fail = (ctx: Koa.Context, status: number, code: string, message: string) => {
  ctx.status = status;
  ctx.body = { error: { code, message } };
};

/** The JSON body, or undefined after answering 400/413. */
async function readSmallJson(ctx: Koa.Context): Promise<{ value: unknown } | undefined> {
  let text = '';
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > MAX_BODY) return void fail(ctx, 413, 'payload_too_large', `The body is larger than ${MAX_BODY} bytes.`);
  }
  try {
    return { value: JSON.parse(text) };
  } catch {
    return void fail(ctx, 400, 'invalid_request', 'The body is not valid JSON.');
  }
}

/** The demo API as a Koa app (tests mount it on a port of their own). */
export function createDemoApi(options: DemoApiOptions): { app: Koa<GatewayState>; gateway: Gateway } {
  const gateway = createGateway({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    realm: 'demo-v2',
    cacheTtlMs: options.cacheTtlMs ?? 0,
    timeoutMs: options.timeoutMs,
    onError: options.onError,
  });
  const punches = new Map<string, TimePunch[]>();
  const router = new Router<GatewayState>();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/v2/company', gateway.requireToken(['company:read']), (ctx) => {
    const { company_guid, auth_type, client_id, sub, scopes } = ctx.state.auth;
    ctx.body = { data: { guid: company_guid, caller: { auth_type, client_id, sub, scopes } } };
  });

  router.get('/v2/schedules', gateway.requireToken(['schedules:read']), (ctx) => {
    const today = new Date().toISOString().slice(0, 10);
    ctx.body = {
      data: [
        { id: 's1', company_guid: ctx.state.auth.company_guid, date: today, start: '09:00', end: '17:00', position: 'Front desk' },
        { id: 's2', company_guid: ctx.state.auth.company_guid, date: today, start: '13:00', end: '21:00', position: 'Kitchen' },
      ],
    };
  });

  router.post('/v2/time-punches', gateway.requireToken(['timepunches:write']), async (ctx) => {
    if (!ctx.is('application/json')) return fail(ctx, 415, 'unsupported_media_type', 'Send the body as application/json.');
    const body = await readSmallJson(ctx);
    if (!body) return;
    const type = (body.value as { type?: unknown } | null)?.type;
    if (type !== 'in' && type !== 'out') return fail(ctx, 400, 'invalid_request', 'type must be "in" or "out".');
    const { company_guid, auth_type, client_id, sub } = ctx.state.auth;
    const punch: TimePunch = { id: randomUUID(), type, at: new Date().toISOString(), recorded_by: { auth_type, client_id, sub } };
    const list = punches.get(company_guid) ?? [];
    list.push(punch);
    if (list.length > MAX_PUNCHES_PER_COMPANY) list.shift();
    punches.set(company_guid, list);
    ctx.status = 201;
    ctx.body = { data: punch };
  });

  const app = new Koa<GatewayState>();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, gateway };
}

function fromEnvironment(env: NodeJS.ProcessEnv): DemoApiOptions & { port: number } {
  const missing = ['GATEWAY_CLIENT_ID', 'GATEWAY_CLIENT_SECRET'].filter((k) => !env[k]);
  if (missing.length) {
    throw new Error(`set ${missing.join(' and ')} (from: npx grantledger gateway create --name "Demo V2 API" --json)`);
  }
  const port = Number(env.DEMO_PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`DEMO_PORT must be a port number, not ${env.DEMO_PORT}`);
  return {
    issuer: env.ISSUER ?? 'http://localhost:3000',
    clientId: env.GATEWAY_CLIENT_ID!,
    clientSecret: env.GATEWAY_CLIENT_SECRET!,
    cacheTtlMs: env.DEMO_CACHE_TTL_MS ? Number(env.DEMO_CACHE_TTL_MS) : 0,
    timeoutMs: env.DEMO_TIMEOUT_MS ? Number(env.DEMO_TIMEOUT_MS) : undefined,
    port,
  };
}

async function main(): Promise<void> {
  let settings;
  let demo;
  try {
    settings = fromEnvironment(process.env);
    demo = createDemoApi({ ...settings, onError: (err) => process.stderr.write(`demo-api: 503: ${err.message}\n`) });
  } catch (err) {
    process.stderr.write(`demo-api: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { app, gateway } = demo;
  const server: Server = app.listen(settings.port, () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`demo V2 API on http://localhost:${port} (authorization server ${settings.issuer})\n`);
  });
  server.on('error', (err) => {
    process.stderr.write(`demo-api: ${err.message}\n`);
    process.exit(1);
  });
  const stop = () => {
    gateway.close();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
