// The audit trail in the admin API: the page query (`limit`, `cursor`) and the page it answers.
import { z } from 'zod';
import { timestamp } from '../shared/presenter.js';

/** An empty filter field (a form's) is no filter. */
const blankIsAbsent = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  // Audit ids are 32-bit serials: a larger cursor is clamped (PostgreSQL would reject it).
  cursor: z.string().regex(/^\d{1,15}$/).transform((v) => Math.min(Number(v), 2_147_483_647)).optional()
    .meta({ description: '`next_cursor` of the previous page' }),
  target_type: z.preprocess(blankIsAbsent, z.enum(['access_token', 'api_key', 'client']).optional())
    .meta({ description: 'Only events about access tokens, API keys or apps (`client`)' }),
  actor: z.preprocess(blankIsAbsent, z.string().trim().min(1).max(320).optional())
    .meta({ description: 'Only events by this actor (an e-mail, or `operator:<name>`)' }),
});

export const auditEventSchema = z.strictObject({
  id: z.number().int(),
  action: z.string(),
  actor: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  details: z.record(z.string(), z.unknown()),
  created_at: timestamp,
});

export const auditPageSchema = z.strictObject({
  data: z.array(auditEventSchema),
  next_cursor: z.string().nullable(),
});
