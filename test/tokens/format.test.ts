// The token format: recognisable prefix, ≥ 256 bits of randomness, a checksum that rejects any
// single mistyped character before a database lookup.
import { describe, expect, test } from '@jest/globals';
import { PREFIX, generateToken, hasOwnPrefix, parseToken, type TokenKind } from '../../src/tokens/format.js';

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
    expect(PREFIX).toEqual({ access_token: 'glpat_', api_key: 'glak_' });
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
      const body = generateToken(n % 2 ? 'access_token' : 'api_key').replace(/^(glpat_|glak_)/, '').slice(0, BODY);
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
    const body = token.slice(6, 6 + BODY);
    const check = token.slice(6 + BODY);
    // Swap two different adjacent characters of the body (a classic typo): still the right shape.
    const i = [...body].findIndex((c, k) => k < BODY - 1 && c !== body[k + 1]);
    const swapped = body.slice(0, i) + body[i + 1] + body[i] + body.slice(i + 2);
    expect(parseToken(`glpat_${swapped}${check}`)).toBeUndefined();
    // The checksum of another token on this body: rejected.
    const other = generateToken('access_token');
    expect(parseToken(`glpat_${body}${other.slice(6 + BODY)}`)).toBeUndefined();
  });

  test('malformed values are rejected', () => {
    const token = generateToken('access_token');
    for (const value of [
      '', 'glpat_', 'glak_', token.slice(0, -1), `${token}x`, ` ${token}`, `${token} `, `${token}\n`,
      token.toUpperCase(), `GLPAT_${token.slice(6)}`, `ghp_${token.slice(6)}`, token.replace('glpat_', 'glpat-'),
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'not a token',
    ]) {
      expect(parseToken(value)).toBeUndefined();
    }
    expect(hasOwnPrefix('ghp_abc')).toBe(false);
    expect(hasOwnPrefix('x'.repeat(43))).toBe(false);
  });
});
