// Every URL the server hands out comes from ISSUER: a request's Host, X-Forwarded-Host or
// X-Forwarded-Proto (TRUST_PROXY on) never reaches discovery, redirects or forms.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import type { OAuthWorld } from '../helpers/world.js';
import { startOAuthWorld } from '../helpers/world.js';

let world: OAuthWorld;
beforeAll(async () => {
  world = await startOAuthWorld({ server: { trustProxy: 1 } });
});
afterAll(() => world.server.close());

const HOSTILE = { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' };

/** A raw HTTP request (fetch would not let us choose the Host header). */
function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = new URL(world.server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { ...HOSTILE, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('URLs come from ISSUER only', () => {
  test('discovery advertises the issuer\'s endpoints whatever Host and X-Forwarded-Host say', async () => {
    const a = await raw('/.well-known/openid-configuration');
    expect(a.status).toBe(200);
    expect(a.body).not.toContain('evil.test');
    const d = JSON.parse(a.body) as Record<string, unknown>;
    expect(d.issuer).toBe(world.server.settings.server.issuer);
    for (const key of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'authorization_endpoint', 'jwks_uri', 'end_session_endpoint', 'userinfo_endpoint']) {
      expect(String(d[key])).toMatch(new RegExp(`^${world.server.settings.server.issuer}/`));
    }
  });

  test('the authorization redirect and the end-session form point at the issuer', async () => {
    const url = oidc.buildAuthorizationUrl(world.config, {
      redirect_uri: world.app.redirectUri, scope: 'openid', code_challenge_method: 'S256',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    });
    const auth = await raw(`${url.pathname}${url.search}`);
    expect(auth.status).toBe(303);
    const location = String(auth.headers.location);
    expect(location).not.toContain('evil.test');
    expect(new URL(location, world.server.url).origin).toBe(world.server.url);

    const end = await raw('/session/end', { accept: 'text/html' });
    expect(end.status).toBe(200);
    expect(end.body).not.toContain('evil.test');
    const action = /<form[^>]*action="([^"]+)"/.exec(end.body)?.[1];
    expect(action).toMatch(new RegExp(`^${world.server.settings.server.issuer}/session/end/confirm`));
  });
});
