// Leaked credentials reported by anyone (a secret-scanning service, a person who found one):
// each recognised access token or API key among them is revoked, and its company's audit
// trail gets a `credential.reported` event. One transaction: one UPDATE … RETURNING for the
// whole batch (by hash, the unique index), one audit row per credential revoked. The caller
// learns nothing about which values were valid (the route answers 202 whatever happened).
import { recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import { sha256 } from '../shared/crypto.js';
import { parseToken, type TokenKind } from './format.js';

/** How many were revoked (for the log and the tests; never told to the reporter). */
export async function reportCredentials(db: Database, values: readonly string[], source: { ip: string }): Promise<number> {
  const hashes = [...new Set(values.filter((v) => parseToken(v) !== undefined))].map(sha256);
  if (hashes.length === 0) return 0;
  const now = Date.now();
  return db.transaction(async (tx) => {
    const { rows } = await tx.run<{ id: string; kind: TokenKind; company_id: number; name: string }>(
      `UPDATE access_tokens SET revoked_at = ?, revoked_by = NULL
       WHERE token_hash IN (${hashes.map(() => '?').join(', ')}) AND revoked_at IS NULL
       RETURNING id, kind, company_id, name`,
      [now, ...hashes],
    );
    for (const row of rows) {
      await recordAudit(tx, {
        companyId: row.company_id, actor: null, action: 'credential.reported', targetType: row.kind, targetId: row.id,
        details: { name: row.name, revoked: true, reported_from: source.ip },
      }, now);
    }
    return rows.length;
  });
}
