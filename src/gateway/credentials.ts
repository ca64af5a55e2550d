// Reading the access token from a request (RFC 6750 §2.1, RFC 9449 §7.1): only the
// Authorization header, scheme "Bearer" (or "DPoP"), case-insensitive, then one or more spaces
// and a b64token. The scheme is compared in place: the only allocations are the token string
// and the small result object.

export type Scheme = 'bearer' | 'dpop';

export interface Presented {
  scheme: Scheme;
  token: string;
}

/** No credentials for us: no header, or another scheme (e.g. Basic) — answered with a bare challenge. */
export const NONE = 'none' as const;
/** `Bearer` without a token, with several, or with characters outside b64token — 400 invalid_request. */
export const MALFORMED = 'malformed' as const;

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Case-insensitive ASCII comparison of header[0, word.length) with a lower-case word. */
function startsWithWord(header: string, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if ((header.charCodeAt(i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

export function readCredentials(header: string | undefined, dpopEnabled: boolean): Presented | typeof NONE | typeof MALFORMED {
  if (!header) return NONE;
  let scheme: Scheme;
  let i: number;
  if (startsWithWord(header, 'bearer') && (header.length === 6 || header.charCodeAt(6) === 32)) {
    scheme = 'bearer';
    i = 6;
  } else if (dpopEnabled && startsWithWord(header, 'dpop') && (header.length === 4 || header.charCodeAt(4) === 32)) {
    scheme = 'dpop';
    i = 4;
  } else {
    return NONE;
  }
  while (header.charCodeAt(i) === 32) i++;
  if (i === header.length) return MALFORMED;
  const token = header.slice(i);
  if (!B64TOKEN.test(token)) return MALFORMED;
  return { scheme, token };
}
