// Server-rendered pages: an EJS template from views/ inside views/layout.ejs.
import { join } from 'node:path';
import ejs from 'ejs';
import { viewsDir } from './paths.js';
import { viewHelpers } from './view-helpers.js';

const cache = process.env.NODE_ENV !== 'development';

export async function renderPage(name: string, locals: Record<string, unknown> & { title: string }): Promise<string> {
  const all = { ...viewHelpers, ...locals };
  const body = await ejs.renderFile(join(viewsDir, `${name}.ejs`), all, { cache, async: false });
  return ejs.renderFile(join(viewsDir, 'layout.ejs'), { ...all, body }, { cache, async: false });
}
