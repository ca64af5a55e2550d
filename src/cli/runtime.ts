// What a command's action gets besides its options: the database and the key-encryption key,
// opened on first use (so a command that fails on its arguments never opens a database), and
// the place to put its result. main.ts prints the result and closes the database.
import { loadSettings, prepareDataDir, type Settings } from '../config.js';
import { useTokenPrefix } from '../tokens/format.js';
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
    if (!this.#settings) {
      this.#settings = await loadSettings({ logLevel: 'silent' });
      useTokenPrefix(this.#settings.tokens.prefix);
    }
    return this.#settings;
  }

  /** The resolved settings (config files and the environment). */
  settings(): Promise<Settings> {
    return this.#loadSettings();
  }

  /**
   * The database, migrated. Only `create: true` (the migrate command) may start a new one (and
   * the data directory and secret key with it); every other command fails with one line saying
   * where it looked (NoDatabaseError), so a command run with the wrong settings never registers
   * an app in a database nobody serves.
   */
  async db({ create = false } = {}): Promise<Database> {
    if (!this.#db) {
      const settings = await this.#loadSettings();
      if (create) {
        prepareDataDir(settings);
        this.#kek ??= loadSecretKey(settings.secrets.secretKey, settings.secrets.secretKeyFile);
      }
      this.#db = await openDatabase({ url: settings.database.url, poolSize: 2, mustExist: !create });
      if (!create) await this.#db.migrate();
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
    this.#kek ??= loadSecretKey(secrets.secretKey, secrets.secretKeyFile, { create: false });
    return this.#kek;
  }

  async close(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
  }
}
