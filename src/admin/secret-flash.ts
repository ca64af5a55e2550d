// Post/redirect/get for the forms that create a token: the POST stores the new secret in a
// one-time cookie and redirects; the GET after it shows the secret once and clears the cookie, so
// a reload (or Back) shows the plain page and creates nothing. The cookie is encrypted
// (AES-256-GCM, a key derived from SECRET_KEY: the browser never holds the secret in the clear
// outside the page), httpOnly, limited to the Developer Tools path, bound to the admin session
// (another session cannot read it) and lives two minutes at most. Nothing is stored server-side.
import type { Context } from 'koa';
import { constantEquals, decrypt, encrypt, hmacSha256Hex } from '../shared/crypto.js';
import type { TokenKind } from '../tokens/format.js';

const COOKIE = 'gl.created';
const TTL_MS = 120_000;

export interface CreatedSecret {
  kind: TokenKind;
  name: string;
  token: string;
}

export class SecretFlash {
  readonly #key: Buffer;

  constructor(kek: Buffer, private readonly path: string, private readonly secure: boolean) {
    this.#key = Buffer.from(hmacSha256Hex(kek, 'grantledger developer-tools created-secret flash'), 'hex');
  }

  set(ctx: Context, sessionCsrf: string, created: CreatedSecret): void {
    const sealed = encrypt(this.#key, JSON.stringify({ ...created, s: sessionCsrf, exp: Date.now() + TTL_MS }));
    ctx.cookies.set(COOKIE, sealed, { httpOnly: true, sameSite: 'strict', secure: this.secure, path: this.path, maxAge: TTL_MS, overwrite: true });
  }

  /** The secret, once: the cookie is cleared whatever it held. */
  take(ctx: Context, sessionCsrf: string): CreatedSecret | undefined {
    const sealed = ctx.cookies.get(COOKIE);
    if (!sealed) return undefined;
    ctx.cookies.set(COOKIE, null, { path: this.path, overwrite: true });
    try {
      const v = JSON.parse(decrypt(this.#key, sealed)) as CreatedSecret & { s: string; exp: number };
      if (typeof v.s !== 'string' || !constantEquals(v.s, sessionCsrf) || !(v.exp > Date.now())) return undefined;
      return { kind: v.kind, name: v.name, token: v.token };
    } catch {
      return undefined;
    }
  }
}
