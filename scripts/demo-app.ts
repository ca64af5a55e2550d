// A small demo third-party app, the kind a partner builds on the V2 API (`npm run demo` starts
// it): its own page with "Connect to grantledger" → grantledger's sign-in and consent
// (authorization code + PKCE, openid-client as the relying party) → back on the page: the
// scopes granted, and a button that calls the demo V2 API with the access token. After the
// company's admin revokes the app in Developer Tools, the next call shows the 401.
// One visitor at a time is enough for a demo: state is kept in memory per browser cookie.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';

export interface DemoAppOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The demo V2 API's base URL. */
  apiUrl: string;
}

interface Visit {
  codeVerifier?: string;
  state?: string;
  accessToken?: string;
  scopes?: string[];
  result?: { status: number; body: string };
  error?: string;
}

const SCOPE = 'openid profile email offline_access company:read schedules:read timepunches:write';
const COOKIE = 'demo_app';
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function render(res: ServerResponse, visit: Visit | undefined, status = 200): void {
  const parts = ['<!doctype html><html lang="en"><meta charset="utf-8"><title>Demo App</title>',
    '<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>',
    '<h1>Demo App</h1><p>A third-party app on the V2 API.</p>'];
  if (visit?.error) parts.push(`<p id="error" role="alert">${escapeHtml(visit.error)}</p>`);
  if (!visit?.accessToken) {
    parts.push('<p><a id="connect" href="/connect">Connect to grantledger</a></p>');
  } else {
    parts.push(`<p>Connected. Scopes granted: <span id="scopes">${escapeHtml((visit.scopes ?? []).join(' '))}</span></p>`,
      '<form method="post" action="/call"><button id="call" type="submit">Call the V2 API</button></form>',
      '<p><a href="/connect">Connect again</a></p>');
  }
  if (visit?.result) {
    parts.push(`<h2>GET /v2/schedules → <span id="status">${visit.result.status}</span></h2><pre id="result">${escapeHtml(visit.result.body)}</pre>`);
  }
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(parts.join('\n'));
}

export class DemoApp {
  readonly #visits = new Map<string, Visit>();
  #config: oidc.Configuration | undefined;
  #options: DemoAppOptions | undefined;
  readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Listens first (its URL is the app's redirect URI), then is told its registration. */
  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return `http://localhost:${(this.server.address() as { port: number }).port}`;
  }

  async configure(options: DemoAppOptions): Promise<void> {
    this.#options = options;
    this.#config = await oidc.discovery(new URL(options.issuer), options.clientId, undefined, oidc.ClientSecretBasic(options.clientSecret), {
      execute: options.issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let sid = /(?:^|;\s*)demo_app=([A-Za-z0-9_-]{22})/.exec(req.headers.cookie ?? '')?.[1];
    if (!sid || !this.#visits.has(sid)) {
      sid = randomBytes(16).toString('base64url');
      if (this.#visits.size > 1000) this.#visits.clear();
      this.#visits.set(sid, {});
      res.setHeader('set-cookie', `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax`);
    }
    const visit = this.#visits.get(sid)!;
    try {
      if (!this.#config || !this.#options) return render(res, { error: 'The demo is still starting.' }, 503);
      if (req.method === 'GET' && url.pathname === '/') return render(res, visit);
      if (req.method === 'GET' && url.pathname === '/connect') return await this.#connect(res, visit);
      if (req.method === 'GET' && url.pathname === '/callback') return await this.#callback(res, url, visit);
      if (req.method === 'POST' && url.pathname === '/call') return await this.#call(res, visit);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } catch (err) {
      visit.error = (err as Error).message;
      render(res, visit, 500);
    }
  }

  async #connect(res: ServerResponse, visit: Visit): Promise<void> {
    visit.codeVerifier = oidc.randomPKCECodeVerifier();
    visit.state = oidc.randomState();
    visit.error = undefined;
    const target = oidc.buildAuthorizationUrl(this.#config!, {
      redirect_uri: `${this.#redirectBase()}/callback`, scope: SCOPE, prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(visit.codeVerifier), code_challenge_method: 'S256', state: visit.state,
    });
    res.writeHead(302, { location: target.href }).end();
  }

  #redirectBase(): string {
    return `http://localhost:${(this.server.address() as { port: number }).port}`;
  }

  async #callback(res: ServerResponse, url: URL, visit: Visit): Promise<void> {
    if (!visit.codeVerifier) {
      visit.error = 'No connection in progress: click Connect to grantledger.';
      return render(res, visit, 400);
    }
    const current = new URL(`${this.#redirectBase()}/callback${url.search}`);
    try {
      const tokens = await oidc.authorizationCodeGrant(this.#config!, current, { pkceCodeVerifier: visit.codeVerifier, expectedState: visit.state });
      visit.accessToken = tokens.access_token;
      visit.scopes = (tokens.scope ?? '').split(' ').filter(Boolean);
      visit.result = undefined;
    } catch (err) {
      visit.error = `Not connected: ${(err as Error).message}`;
    }
    visit.codeVerifier = visit.state = undefined;
    res.writeHead(302, { location: '/' }).end();
  }

  async #call(res: ServerResponse, visit: Visit): Promise<void> {
    if (visit.accessToken) {
      const answer = await fetch(`${this.#options!.apiUrl}/v2/schedules`, { headers: { authorization: `Bearer ${visit.accessToken}` } });
      const text = await answer.text();
      let body = text;
      try {
        body = JSON.stringify(JSON.parse(text), null, 2);
      } catch { /* not JSON: shown as it came */ }
      const challenge = answer.headers.get('www-authenticate');
      visit.result = { status: answer.status, body: challenge ? `WWW-Authenticate: ${challenge}\n${body}` : body };
    }
    res.writeHead(303, { location: '/' }).end();
  }
}
