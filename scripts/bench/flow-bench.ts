// Section 3: the full authorization-code + PKCE flow, sequentially, against a running server:
// (a) a fresh browser each time — login page, sign-in (scrypt), remembered consent, token;
// without prompt=consent (OIDC Core §11), so offline_access is dropped and no consent page shows;
// (b) a browser with a live session — straight through to the code, then the token.
// The walk is the tests' own (test/helpers/oauth.ts `connect`); only the clock is the bench's.
import { connect, rpConfig, UserAgent } from '../../test/helpers/oauth.js';
import { log, median, percentile, round } from './common.js';
import { FLOW_SCOPE, type OursFixture } from './fixtures.js';

export interface FlowStats {
  variant: string;
  n: number;
  medianMs: number;
  p99Ms: number;
  /** Median of the sign-in POST alone (password hashing), for the login variant. */
  loginMedianMs?: number;
}

/** A user agent that also times its sign-in POSTs (the login form of an interaction). */
class TimedAgent extends UserAgent {
  loginMs = 0;

  override async postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const started = performance.now();
    try {
      return await super.postForm(url, fields, headers);
    } finally {
      if (/\/interaction\/[^/]+\/login$/.test(url)) this.loginMs += performance.now() - started;
    }
  }
}

export async function flowBench(serverUrl: string, fx: OursFixture, n: number, label: string): Promise<FlowStats[]> {
  const server = { url: serverUrl };
  const config = await rpConfig(server, fx.app);
  const flow = async (agent: UserAgent) => {
    const started = performance.now();
    const r = await connect(server, config, fx.app, fx.admin, { agent, scope: FLOW_SCOPE, expectConsent: false });
    return { ...r, ms: performance.now() - started };
  };
  const fresh: number[] = [];
  const login: number[] = [];
  for (let i = 0; i < n; i++) {
    const agent = new TimedAgent();
    const r = await flow(agent);
    if (!r.loginShown) throw new Error('a fresh browser was not asked to sign in');
    if (r.consentShown) throw new Error('consent asked again: it should be remembered');
    fresh.push(r.ms);
    login.push(agent.loginMs);
  }
  const agent = new UserAgent();
  await flow(agent);
  const session: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await flow(agent);
    if (r.loginShown || r.consentShown) throw new Error('a page was shown to a signed-in user with a remembered consent');
    session.push(r.ms);
  }
  const out: FlowStats[] = [
    { variant: 'fresh browser: login + remembered consent + token', n, medianMs: median(fresh), p99Ms: percentile(fresh, 99), loginMedianMs: median(login) },
    { variant: 'signed-in browser: remembered consent + token', n, medianMs: median(session), p99Ms: percentile(session, 99) },
  ];
  for (const s of out) log(`flow ${label} ${s.variant}: median ${round(s.medianMs, 1)} ms, p99 ${round(s.p99Ms, 1)} ms`);
  return out;
}
