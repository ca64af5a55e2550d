// The format of access tokens and API keys: a recognisable prefix, 43 base62 characters of
// randomness (256 bits) and a 6-character CRC32 checksum, e.g.
//   glpat_3kTMd9…Qw  (access token)     glak_Z81x…pE  (legacy API key)
// Secret scanners can match the prefix and verify the checksum; a mistyped token is rejected
// before any database lookup.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export type TokenKind = 'access_token' | 'api_key';
export const PREFIX: Record<TokenKind, string> = { access_token: 'glpat_', api_key: 'glak_' };
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY = 43;
const CHECK = 6;
const SHAPE = /^(glpat_|glak_)([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/;

function base62(bytes: Buffer, length: number): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out;
}

function checksum(body: string): string {
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc32(body) >>> 0);
  return base62(sum, CHECK);
}

export function generateToken(kind: TokenKind): string {
  // 33 random bytes (264 bits) rendered as 43 base62 digits keep ≥ 256 bits.
  const body = base62(randomBytes(33), BODY);
  return PREFIX[kind] + body + checksum(body);
}

/** Looks like one of ours (by prefix) — such values are never oidc-provider tokens. */
export function hasOwnPrefix(value: string): boolean {
  return value.startsWith(PREFIX.access_token) || value.startsWith(PREFIX.api_key);
}

/** The kind of a well-formed token with a valid checksum, or undefined. No I/O. */
export function parseToken(value: string): TokenKind | undefined {
  const m = SHAPE.exec(value);
  if (!m || checksum(m[2]!) !== m[3]) return undefined;
  return m[1] === PREFIX.access_token ? 'access_token' : 'api_key';
}
