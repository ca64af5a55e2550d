// DPoP proofs at the resource server (RFC 9449 §4.3, §7.1). A DPoP-bound access token is only
// worth something if the API checks that the caller holds the key: a request with
// `Authorization: DPoP <token>` must carry one `DPoP: <proof JWT>` header that
//   - is a JWT with typ "dpop+jwt", an asymmetric alg we allow, and a public `jwk` in its header
//     that verifies its signature;
//   - names this request: `htm` = the method, `htu` = the URL without query and fragment;
//   - is fresh (`iat` within ±60 s) and seen once (`jti` remembered for that window — per
//     gateway process: instances behind a load balancer do not share it);
//   - is bound to this token (`ath` = base64url SHA-256 of the token).
// The key's thumbprint is returned; the middleware compares it with the token's `cnf.jkt`.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';

export const DPOP_ALGS: readonly string[] = ['ES256', 'ES384', 'PS256', 'Ed25519', 'EdDSA'];
/** Seconds a proof's `iat` may differ from our clock (oidc-provider's own window). */
export const PROOF_WINDOW_S = 60;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_PROOF_LENGTH = 8192;

export class DpopProofError extends Error {}

/** `jti`s seen inside the window; bounded, oldest forgotten first. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(private readonly maxEntries = 100_000) {}

  /** False when this jti was already used within the window. */
  remember(jti: string, now: number): boolean {
    for (const [key, until] of this.#seen) {
      if (until > now && this.#seen.size < this.maxEntries) break;
      this.#seen.delete(key);
    }
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, now + 2 * PROOF_WINDOW_S * 1000);
    return true;
  }
}

export interface ProofRequest {
  method: string;
  /** Absolute URL of the request as the client addressed it, without query and fragment. */
  url: string;
  token: string;
}

/** Verifies the proof for this request; returns the JWK SHA-256 thumbprint of its key. */
export async function verifyProof(proof: string, req: ProofRequest, replay: ReplayGuard): Promise<string> {
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw new DpopProofError('send exactly one DPoP proof JWT');
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGS as string[] });
  } catch {
    throw new DpopProofError('the DPoP proof is not a valid signed dpop+jwt');
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk as Record<string, unknown> | undefined;
  if (!jwk || 'd' in jwk || 'p' in jwk || 'k' in jwk) throw new DpopProofError('the DPoP proof must carry a public key');
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw new DpopProofError('the DPoP proof needs a jti');
  if (typeof payload.iat !== 'number') throw new DpopProofError('the DPoP proof needs an iat');
  const now = Date.now();
  if (Math.abs(now / 1000 - payload.iat) > PROOF_WINDOW_S) throw new DpopProofError('the DPoP proof is not recent');
  if (payload.htm !== req.method) throw new DpopProofError('the DPoP proof is for another method');
  if (typeof payload.htu !== 'string' || !sameResource(payload.htu, req.url)) throw new DpopProofError('the DPoP proof is for another URL');
  if (payload.ath !== createHash('sha256').update(req.token).digest('base64url')) {
    throw new DpopProofError('the DPoP proof is not bound to this access token');
  }
  const thumbprint = await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256');
  if (!replay.remember(`${thumbprint}:${payload.jti}`, now)) throw new DpopProofError('the DPoP proof was already used');
  return thumbprint;
}

/** htu matches ignoring query and fragment, after URL normalisation. */
function sameResource(htu: string, expected: string): boolean {
  try {
    const u = new URL(htu);
    return u.origin + u.pathname === expected;
  } catch {
    return false;
  }
}
