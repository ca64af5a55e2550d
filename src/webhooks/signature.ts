// Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the app's webhook secret.
//   X-Grantledger-Timestamp: 1764288000
//   X-Grantledger-Signature: v1=<hex>
// A receiver recomputes the HMAC over the raw body, compares in constant time, and rejects
// timestamps older than a few minutes (replay).
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
  return constantEquals(signWebhook(secret, ts, body), headers.signature);
}
