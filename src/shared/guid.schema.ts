// The GUID in a path (`/connected-apps/:id`, `/access-tokens/:id`). A malformed id names
// nothing, so the guard answers 404 for it, exactly like an id that is not in the company.
import { z } from 'zod';

export const guidParam = z.string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
  .transform((s) => s.toLowerCase())
  .meta({ format: 'uuid' });

/** Path parameters of a route on one object: `{ id }`. */
export const idParams = (description?: string) =>
  z.object({ id: description ? guidParam.meta({ format: 'uuid', description }) : guidParam });
