// What every presenter shares: times are ISO 8601 strings in UTC (`2026-01-31T09:00:00.000Z`),
// and the schemas that say so, for response validation and the OpenAPI document.
import { z } from 'zod';

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export const timestamp = z.iso.datetime();
export const optionalTimestamp = z.iso.datetime().nullable();
