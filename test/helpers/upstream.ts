// Starts the test's upstream identity provider (test/helpers/upstream-idp.ts) in its own process
// and talks to its test endpoints: who its people are, which hostile behaviour is on.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomSecret } from '../../src/shared/crypto.js';
import { freePort } from './http.js';
import { UserAgent } from './oauth.js';

export interface UpstreamPerson {
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** The company claim (the company's external_id at grantledger). */
  company?: string;
  role?: string;
  [claim: string]: unknown;
}

export interface Upstream {
  url: string;
  clientId: string;
  clientSecret: string;
  setPeople(people: Record<string, UpstreamPerson>): Promise<void>;
  setFlags(flags: { dropNonce?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** Where the upstream will listen and who grantledger is there: chosen before grantledger starts (its settings name them). */
export async function plannedUpstream(): Promise<{ port: number; issuer: string; clientId: string; clientSecret: string }> {
  const port = await freePort();
  return { port, issuer: `http://localhost:${port}`, clientId: `grantledger-${randomSecret(4)}`, clientSecret: randomSecret(24) };
}

/** `rpIssuer`: grantledger's ISSUER (its callback and back-channel logout URIs hang off it). */
export async function startUpstream(port: number, rpIssuer: string, client: { clientId: string; clientSecret: string }): Promise<Upstream> {
  const { clientId, clientSecret } = client;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/upstream-idp.ts'], {
    env: {
      ...process.env, NODE_OPTIONS: '', UPSTREAM_PORT: String(port),
      RP_CLIENT_ID: clientId, RP_CLIENT_SECRET: clientSecret,
      RP_REDIRECT_URI: `${rpIssuer}/login/upstream/callback`,
      RP_BACKCHANNEL_URI: `${rpIssuer}/login/upstream/backchannel-logout`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => {
    errors += d.toString();
    if (process.env.DEBUG_UPSTREAM) process.stderr.write(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`upstream did not start: ${errors}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\S+)/.exec(d.toString());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`upstream exited (${code}): ${errors}`));
    });
  });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (res.status !== 204) throw new Error(`upstream ${path}: ${res.status}`);
  };
  return {
    url, clientId, clientSecret,
    setPeople: (people) => post('/test/accounts', people),
    setFlags: (flags) => post('/test/flags', flags),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A browser as the tests need it across two sites: one cookie jar per host (as a browser keeps them). */
export class TwoSiteAgent {
  readonly ours = new UserAgent();
  readonly theirs = new UserAgent();

  constructor(private readonly upstream: Pick<Upstream, 'url'>) {}

  for(url: string): UserAgent {
    return url.startsWith(this.upstream.url) ? this.theirs : this.ours;
  }

  get(url: string): Promise<Response> {
    return this.for(url).get(url);
  }

  postForm(url: string, fields: Record<string, string>): Promise<Response> {
    return this.for(url).postForm(url, fields);
  }
}

export interface WalkOptions {
  /** Who signs in at the upstream's login page (absent: the walk stops there). */
  sub?: string;
  /** Stop when the browser is sent to a URL starting with this (e.g. an app's redirect URI). */
  stopAt?: string;
  /** Change grantledger's callback URL before the browser follows it (a hostile redirect). */
  tamper?: (callback: URL) => URL;
}

/**
 * Follows a browser's way through redirects on both sites, signing in as `sub` at the upstream's
 * login page; stops at the first page that is neither (or at `stopAt`). Returns the last answer,
 * its URL and the callback URL grantledger was sent.
 */
export async function walk(agent: TwoSiteAgent, upstream: Pick<Upstream, 'url'>, start: Response | string, opts: WalkOptions = {}) {
  let url = typeof start === 'string' ? start : '';
  let res = typeof start === 'string' ? await agent.get(start) : start;
  let callback: URL | undefined;
  for (let step = 0; step < 25; step++) {
    if (res.status >= 300 && res.status < 400) {
      let next = new URL(res.headers.get('location')!, url || undefined);
      if (next.pathname === '/login/upstream/callback') {
        if (opts.tamper) next = opts.tamper(next);
        callback = next;
      }
      await res.arrayBuffer();
      url = next.href;
      if (opts.stopAt && url.startsWith(opts.stopAt)) return { res: undefined, url, callback };
      res = await agent.get(url);
      continue;
    }
    if (res.status === 200 && url.startsWith(upstream.url) && /\/interaction\//.test(url) && opts.sub !== undefined) {
      const html = await res.text();
      const uid = /action="\/interaction\/([^/"]+)\/login"/.exec(html)?.[1];
      if (!uid) throw new Error(`not the upstream's login page at ${url}: ${html.slice(0, 200)}`);
      url = `${upstream.url}/interaction/${uid}/login`;
      res = await agent.postForm(url, { sub: opts.sub });
      continue;
    }
    return { res, url, callback };
  }
  throw new Error(`too many redirects (at ${url})`);
}
