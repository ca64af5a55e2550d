// The token format: recognisable prefix, ≥ 256 bits of randomness, a checksum that rejects any
// single mistyped character before a database lookup.
import { describe, expect, test } from '@jest/globals';
import { DEFAULT_TOKEN_PREFIX, LEGACY_PREFIX, generateToken, hasOwnPrefix, parseToken, prefixOf, useTokenPrefix, type TokenKind } from '../../src/tokens/format.js';

const PREFIX: Record<TokenKind, string> = { access_token: 'grantledger_pat_', api_key: 'grantledger_key_' };

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KINDS: TokenKind[] = ['access_token', 'api_key'];
const BODY = 43;
const CHECK = 6;

/** Every string that differs from `token` in exactly one character (any printable ASCII, plus a few others). */
function* singleCharVariants(token: string): Generator<string> {
  const replacements = [...ALPHABET, '_', '-', '.', ' ', '/', '+', '=', 'é'];
  for (let i = 0; i < token.length; i++) {
    for (const c of replacements) {
      if (c !== token[i]) yield token.slice(0, i) + c + token.slice(i + 1);
    }
  }
}

describe('token format', () => {
  test.each(KINDS)('%s: prefix, length and alphabet', (kind) => {
    const token = generateToken(kind);
    expect(prefixOf(kind)).toBe(PREFIX[kind]);
    expect(token.startsWith(PREFIX[kind])).toBe(true);
    expect(token).toHaveLength(PREFIX[kind].length + BODY + CHECK);
    expect(token.slice(PREFIX[kind].length)).toMatch(/^[0-9A-Za-z]+$/);
    expect(parseToken(token)).toBe(kind);
    expect(hasOwnPrefix(token)).toBe(true);
  });

  test('the random part can carry at least 256 bits', () => {
    // 43 base62 digits hold log2(62^43) ≈ 256.03 bits.
    expect(BODY * Math.log2(62)).toBeGreaterThanOrEqual(256);
  });

  test('every position of the random part takes every base62 digit (no short or biased randomness)', () => {
    // With 4,000 tokens, a given digit is missing at a given position with probability
    // (61/62)^4000 ≈ e^-65: this fails only if a position is not (close to) uniform — e.g. if
    // fewer than 256 random bits were drawn, the leading digits would be stuck at '0'.
    const seen = Array.from({ length: BODY }, () => new Set<string>());
    for (let n = 0; n < 4000; n++) {
      const body = generateToken(n % 2 ? 'access_token' : 'api_key').replace(/^grantledger_(pat|key)_/, '').slice(0, BODY);
      for (let i = 0; i < BODY; i++) seen[i]!.add(body[i]!);
    }
    const incomplete = seen.map((s, i) => [i, s.size] as const).filter(([, size]) => size !== 62);
    expect(incomplete).toEqual([]);
  });

  test('many generated tokens are unique and all parse', () => {
    const tokens = new Set<string>();
    const bodies = new Set<string>();
    const unparsed: string[] = [];
    for (let n = 0; n < 10_000; n++) {
      const kind = KINDS[n % 2]!;
      const token = generateToken(kind);
      if (parseToken(token) !== kind) unparsed.push(token);
      tokens.add(token);
      bodies.add(token.slice(PREFIX[kind].length, PREFIX[kind].length + BODY));
    }
    expect(unparsed).toEqual([]);
    expect(tokens.size).toBe(10_000);
    expect(bodies.size).toBe(10_000);
  });

  test.each(KINDS)('%s: every single changed character is rejected', (kind) => {
    for (let round = 0; round < 5; round++) {
      const token = generateToken(kind);
      let variants = 0;
      const accepted: string[] = [];
      for (const variant of singleCharVariants(token)) {
        variants++;
        if (parseToken(variant) !== undefined) accepted.push(variant);
      }
      expect(variants).toBeGreaterThan(token.length * 60);
      expect(accepted).toEqual([]);
    }
  });

  test('the checksum covers the random part: a valid-looking body with the wrong checksum is rejected', () => {
    const token = generateToken('access_token');
    const P = PREFIX.access_token.length;
    const body = token.slice(P, P + BODY);
    const check = token.slice(P + BODY);
    // Swap two different adjacent characters of the body (a classic typo): still the right shape.
    const i = [...body].findIndex((c, k) => k < BODY - 1 && c !== body[k + 1]);
    const swapped = body.slice(0, i) + body[i + 1] + body[i] + body.slice(i + 2);
    expect(parseToken(`grantledger_pat_${swapped}${check}`)).toBeUndefined();
    // The checksum of another token on this body: rejected.
    const other = generateToken('access_token');
    expect(parseToken(`grantledger_pat_${body}${other.slice(P + BODY)}`)).toBeUndefined();
  });

  test('malformed values are rejected', () => {
    const token = generateToken('access_token');
    for (const value of [
      '', 'glpat_', 'glak_', 'grantledger_pat_', token.slice(0, -1), `${token}x`, ` ${token}`, `${token} `, `${token}\n`,
      token.toUpperCase(), `GRANTLEDGER_PAT_${token.slice(16)}`, `ghp_${token.slice(16)}`, token.replace('grantledger_pat_', 'grantledger-pat-'),
      `grantledger_key_${token.slice(16)}`.replace('_key_', '_kye_'), `other_pat_${token.slice(16)}`, `glpat-${token.slice(16)}`,
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'not a token',
    ]) {
      expect(parseToken(value)).toBeUndefined();
    }
    expect(hasOwnPrefix('ghp_abc')).toBe(false);
    expect(hasOwnPrefix('x'.repeat(43))).toBe(false);
  });

  test('tokens of the earlier format (glpat_, glak_) with a valid checksum keep parsing', () => {
    for (const kind of ['access_token', 'api_key'] as const) {
      const legacy = LEGACY_PREFIX[kind] + generateToken(kind).slice(PREFIX[kind].length);
      expect(parseToken(legacy)).toBe(kind);
      expect(hasOwnPrefix(legacy)).toBe(true);
    }
  });

  test('TOKEN_PREFIX: new tokens carry it; the default prefix and the earlier format keep parsing', () => {
    const before = generateToken('access_token');
    try {
      useTokenPrefix('acme');
      const token = generateToken('api_key');
      expect(token).toMatch(/^acme_key_[0-9A-Za-z]{49}$/);
      expect(parseToken(token)).toBe('api_key');
      expect(parseToken(before)).toBe('access_token');
      expect(parseToken(`glpat_${before.slice(16)}`)).toBe('access_token');
      expect(parseToken(`other_pat_${before.slice(16)}`)).toBeUndefined();
      expect(() => useTokenPrefix('Bad_Prefix')).toThrow(/lowercase/);
    } finally {
      useTokenPrefix(DEFAULT_TOKEN_PREFIX);
    }
    expect(parseToken(`acme_pat_${before.slice(16)}`)).toBeUndefined();
  });
});
