// A user as other objects show it (who created a token, who connected an app): the GUID — the
// `sub` apps know — the name and the e-mail address. Never the role, the password or the id.
import { z } from 'zod';

export const userRefSchema = z.strictObject({
  id: z.string().meta({ format: 'uuid' }),
  name: z.string(),
  email: z.string(),
});

export function presentUserRef(u: { guid: string; name: string; email: string }): z.output<typeof userRefSchema> {
  return { id: u.guid, name: u.name, email: u.email };
}
