// Section 3: the full authorization-code + PKCE flow, sequentially, against a running server:
// (a) a fresh browser each time — login page, sign-in (scrypt), remembered consent, token;
// (b) a browser with a live session — straight through to the code, then the token.
import { log, median, percentile, round } from './common.js';
import { codeFlow, rpConfig, UserAgent, type OursFixture } from './fixtures.js';

export interface FlowStats {
  variant: string;
  n: number;
  medianMs: number;
  p99Ms: number;
  /** Median of the sign-in POST alone (password hashing), for the login variant. */
  loginMedianMs?: number;
}

export async function flowBench(serverUrl: string, fx: OursFixture, n: number, label: string): Promise<FlowStats[]> {
  const config = await rpConfig(serverUrl, fx.app);
  const user = { email: fx.admin.email, password: fx.admin.password };
  const fresh: number[] = [];
  const login: number[] = [];
  for (let i = 0; i < n; i++) {
    const { timing } = await codeFlow(serverUrl, config, fx.app, user, new UserAgent());
    if (timing.consentShown) throw new Error('consent asked again: it should be remembered');
    fresh.push(timing.totalMs);
    login.push(timing.loginMs);
  }
  const agent = new UserAgent();
  await codeFlow(serverUrl, config, fx.app, user, agent);
  const session: number[] = [];
  for (let i = 0; i < n; i++) {
    const { timing } = await codeFlow(serverUrl, config, fx.app, user, agent);
    if (timing.loginShown || timing.consentShown) throw new Error('a page was shown to a signed-in user with a remembered consent');
    session.push(timing.totalMs);
  }
  const out: FlowStats[] = [
    { variant: 'fresh browser: login + remembered consent + token', n, medianMs: median(fresh), p99Ms: percentile(fresh, 99), loginMedianMs: median(login) },
    { variant: 'signed-in browser: remembered consent + token', n, medianMs: median(session), p99Ms: percentile(session, 99) },
  ];
  for (const s of out) log(`flow ${label} ${s.variant}: median ${round(s.medianMs, 1)} ms, p99 ${round(s.p99Ms, 1)} ms`);
  return out;
}
