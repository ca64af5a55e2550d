// What a command's action gets besides its options: the database and the key-encryption key,
// opened on first use (so a command that fails on its arguments never opens a database), and
// the place to put its result. main.ts prints the result and closes the database.
import { loadSettings, type Settings } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { loadSecretKey } from '../oidc/keys.js';
import type { MembershipDeps } from '../companies/membership.js';
import { NO_EFFECTS } from '../ledger/effects.js';

/** A command's result: the --json object and the text for people. */
export interface Output {
  json: unknown;
  text: string;
}

export class Runtime {
  output: Output | undefined;
  #settings: Settings | undefined;
  #db: Database | undefined;
  #kek: Buffer | undefined;

  async #loadSettings(): Promise<Settings> {
    this.#settings ??= await loadSettings({ logLevel: 'silent' });
    return this.#settings;
  }

  /** The resolved settings (config files and the environment). */
  settings(): Promise<Settings> {
    return this.#loadSettings();
  }

  /** The database, migrated (`migrate: false` is for the migrate command itself). */
  async db({ migrate = true } = {}): Promise<Database> {
    if (!this.#db) {
      const settings = await this.#loadSettings();
      this.#db = await openDatabase({ url: settings.database.url, poolSize: 2 });
      if (migrate) await this.#db.migrate();
    }
    return this.#db;
  }

  /** What membership commands need: the database, no background effects (the CLI purges itself), the role bounds. */
  async membership(): Promise<MembershipDeps> {
    const settings = await this.#loadSettings();
    return { db: await this.db(), effects: NO_EFFECTS, roleBounds: settings.scopes.roles };
  }

  async kek(): Promise<Buffer> {
    const { secrets } = await this.#loadSettings();
    this.#kek ??= loadSecretKey(secrets.secretKey, secrets.secretKeyFile);
    return this.#kek;
  }

  async close(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
  }
}
