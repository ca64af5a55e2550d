// The format of access tokens and API keys: a prefix unique to this product (TOKEN_PREFIX,
// default `grantledger`) and the kind, 43 base62 characters of randomness (256 bits) and a
// 6-character CRC32 checksum of them, e.g.
//   grantledger_pat_3kTMd9…Qw  (access token)     grantledger_key_Z81x…pE  (legacy API key)
// Secret scanners match `<prefix>_(pat|key)_[0-9A-Za-z]{49}` and can verify the checksum
// (CRC32 of the 43 characters, big-endian, in the same base62 digits); a mistyped token is
// rejected before any database lookup. Tokens of the earlier format (glpat_…, glak_…) keep
// working: they are parsed, never generated.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export type TokenKind = 'access_token' | 'api_key';
export const DEFAULT_TOKEN_PREFIX = 'grantledger';
/** What follows the product prefix for each kind. */
const KIND_TAG: Record<TokenKind, string> = { access_token: 'pat', api_key: 'key' };
/** The earlier format, still accepted. */
export const LEGACY_PREFIX: Record<TokenKind, string> = { access_token: 'glpat_', api_key: 'glak_' };
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY = 43;
const CHECK = 6;
const TAIL = /^([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/;

/** The prefixes a token may start with, → its kind. */
let prefixes = new Map<string, TokenKind>();
let current = DEFAULT_TOKEN_PREFIX;

/**
 * The product prefix new tokens get (setting TOKEN_PREFIX), set once at start. Tokens with the
 * default prefix and the earlier format keep being recognised.
 */
export function useTokenPrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9]{1,31}$/.test(prefix)) throw new TypeError('a token prefix is 2 to 32 lowercase letters and digits, starting with a letter');
  current = prefix;
  prefixes = new Map<string, TokenKind>();
  for (const p of new Set([prefix, DEFAULT_TOKEN_PREFIX])) {
    for (const kind of ['access_token', 'api_key'] as const) prefixes.set(`${p}_${KIND_TAG[kind]}_`, kind);
  }
  for (const kind of ['access_token', 'api_key'] as const) prefixes.set(LEGACY_PREFIX[kind], kind);
}
useTokenPrefix(DEFAULT_TOKEN_PREFIX);

/** The prefix of a new token of this kind, e.g. `grantledger_pat_`. */
export const prefixOf = (kind: TokenKind): string => `${current}_${KIND_TAG[kind]}_`;

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
  return prefixOf(kind) + body + checksum(body);
}

/** The recognised prefix `value` starts with and its kind, or undefined. */
function splitPrefix(value: string): [string, TokenKind] | undefined {
  const cut = value.length - BODY - CHECK;
  if (cut <= 0) return undefined;
  const kind = prefixes.get(value.slice(0, cut));
  return kind ? [value.slice(cut), kind] : undefined;
}

/** Looks like one of ours (a recognised prefix, the right length) — such values are never oidc-provider tokens. */
export function hasOwnPrefix(value: string): boolean {
  return splitPrefix(value) !== undefined;
}

/** The kind of a well-formed token with a valid checksum, or undefined. No I/O. */
export function parseToken(value: string): TokenKind | undefined {
  const split = splitPrefix(value);
  if (!split) return undefined;
  const m = TAIL.exec(split[0]);
  if (!m || checksum(m[1]!) !== m[2]) return undefined;
  return split[1];
}
