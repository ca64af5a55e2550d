// Helpers of the gateway tests: a real Koa V2 API on a real port behind the gateway middleware,
// stand-ins for a broken authorization server (real sockets), and small HTTP calls.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { freePort } from '../helpers/http.js';
import { createGateway, type Gateway, type GatewayOptions, type GatewayState } from '../../src/gateway/index.js';

export interface TestApi {
  url: string;
  gateway: Gateway;
  close(): Promise<void>;
}

/**
 * A V2 API with a few routes; each answers what the handler saw in ctx.state.auth. `options`
 * may be built from the API's own URL (e.g. `publicOrigin` for DPoP).
 */
export async function startApi(options: GatewayOptions | ((url: string) => GatewayOptions)): Promise<TestApi> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gateway = createGateway(typeof options === 'function' ? options(url) : options);
  const router = new Router<GatewayState>();
  const seen = (ctx: Koa.ParameterizedContext<GatewayState>) => {
    ctx.body = { auth: ctx.state.auth };
  };
  router.get('/v2/open', gateway.requireToken(), seen);
  router.get('/v2/schedules', gateway.requireToken(['schedules:read']), seen);
  router.get('/v2/company', gateway.requireToken(['company:read', 'schedules:read']), seen);
  router.post('/v2/time-punches', gateway.requireToken(['timepunches:write']), (ctx) => {
    ctx.status = 201;
    ctx.body = { auth: ctx.state.auth };
  });
  const app = new Koa<GatewayState>();
  app.use(router.routes());
  const server = await listen(app.callback(), port);
  return {
    url,
    gateway,
    async close() {
      gateway.close();
      await closeServer(server);
    },
  };
}

export function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A TCP server that accepts connections and never answers (an authorization server that hangs). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export interface Reply {
  status: number;
  challenge: string | null;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function call(url: string, init: { method?: string; authorization?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers = new Headers(init.headers);
  if (init.authorization !== undefined) headers.set('authorization', init.authorization);
  const res = await fetch(url, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

export const bearer = (token: string) => `Bearer ${token}`;
