// Who ends an authorization: an admin of the company (a User), or an operator (CLI, operator API).
import type { OperatorActor } from '../audit/audit.js';

export type Revoker = { id: number; email: string; guid: string } | OperatorActor;

export const revokerUserId = (r: Revoker | null): number | null => (r && 'id' in r ? r.id : null);
