// Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the app's webhook secret.
//   X-Grantledger-Timestamp: 1764288000
//   X-Grantledger-Signature: v1=<hex>
// During a webhook secret rotation's overlap the header carries both signatures, side by side:
//   X-Grantledger-Signature: v1=<hex with the new secret>,v1=<hex with the previous one>
// A receiver recomputes the HMAC over the raw body with the secret it holds, accepts the
// request when any v1 value equals it (constant-time comparisons), and rejects timestamps older
// than a few minutes (replay).
import { constantEquals, hmacSha256Hex } from '../shared/crypto.js';

export const TIMESTAMP_HEADER = 'x-grantledger-timestamp';
export const SIGNATURE_HEADER = 'x-grantledger-signature';

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

export function verifyWebhook(
  secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, body: string,
  toleranceSeconds = 300, now = Date.now(),
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds || !headers.signature) return false;
  const expected = signWebhook(secret, ts, body);
  // Every value is compared (no early exit): the time does not tell which one matched.
  return headers.signature.split(',').slice(0, 8).map((v) => constantEquals(expected, v.trim())).some(Boolean);
}
