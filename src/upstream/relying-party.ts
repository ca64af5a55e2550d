// grantledger as a relying party of the SaaS's identity provider (openid-client): discovery
// (cached; retried after a failure), the authorization request (code + PKCE S256, `state`,
// `nonce`), and the callback — state bound to the browser and used once, `iss` checked per
// RFC 9207 when the upstream sends it, the ID token's signature, audience, expiry and nonce
// checked by openid-client. What the upstream says of the person comes back as claims, the
// ID token's and (for the company and role claims it lacks) userinfo's.
import * as oidc from 'openid-client';
import type { Settings } from '../config.js';
import { AppError } from '../shared/errors.js';

export type UpstreamSettings = Settings['login']['upstream'];

export interface UpstreamClaims {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** The upstream session (`sid`), when the ID token names one (back-channel logout by sid). */
  sid?: string;
  [claim: string]: unknown;
}

/** The upstream cannot be reached or answered something unusable (a page says so, 503). */
export const upstreamUnavailable = (name: string) =>
  new AppError(503, 'upstream_unavailable', `Signing in with ${name} is not possible right now. Try again in a few minutes.`);

/** The callback does not belong to a sign-in this browser started, or the upstream's answer fails a check. */
export const upstreamRefused = (message: string) => new AppError(400, 'upstream_sign_in_failed', message);

const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

export class UpstreamRelyingParty {
  #config: Promise<oidc.Configuration> | undefined;

  constructor(private readonly settings: UpstreamSettings, private readonly redirectUri: string) {}

  get issuer(): string {
    return this.settings.issuer!;
  }

  get name(): string {
    return this.settings.name;
  }

  /** The discovered configuration; a failed discovery is tried again on the next sign-in. */
  config(): Promise<oidc.Configuration> {
    this.#config ??= oidc.discovery(
      new URL(this.issuer), this.settings.clientId!, undefined,
      this.settings.clientSecret ? oidc.ClientSecretBasic(this.settings.clientSecret) : oidc.None(),
      { execute: isLoopback(this.issuer) ? [oidc.allowInsecureRequests] : [], timeout: 10 },
    ).catch((err: unknown) => {
      this.#config = undefined;
      throw err;
    });
    return this.#config;
  }

  /** The URL to send the browser to, and what the callback must find again. */
  async authorizationRequest(): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
    const config = await this.config().catch(() => {
      throw upstreamUnavailable(this.name);
    });
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: 'openid email profile',
      state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** Redeems the code of `callbackUrl`; every check failing is a 400, the upstream failing a 503. */
  async redeem(callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamClaims> {
    const config = await this.config().catch(() => {
      throw upstreamUnavailable(this.name);
    });
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
        throw upstreamRefused(`${this.name} did not sign you in (${err.error}). Go back and try again.`);
      }
      if (err instanceof TypeError || (err as { code?: string }).code === 'OAUTH_TIMEOUT') throw upstreamUnavailable(this.name);
      // A check on the answer failed: wrong issuer, nonce, audience, signature…
      throw upstreamRefused(`The answer from ${this.name} could not be verified, so you were not signed in. Go back and try again.`);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw upstreamRefused(`${this.name} sent no ID token.`);
    const claims: UpstreamClaims = { ...(idClaims as UpstreamClaims) };
    const missing = [this.settings.companyClaim, this.settings.roleClaim, 'email'].some((c) => claims[c] === undefined);
    if (missing && tokens.access_token) {
      // Providers that keep the profile out of the ID token (conformIdTokenClaims) answer at userinfo.
      try {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        for (const [k, v] of Object.entries(info)) if (claims[k] === undefined) claims[k] = v;
      } catch {
        /* userinfo is optional: what the ID token says is used */
      }
    }
    return claims;
  }
}
