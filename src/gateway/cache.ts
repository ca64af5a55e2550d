// The optional positive-answer cache of the gateway (off unless `cacheTtlMs` > 0).
//
// A bounded LRU of accepted introspection answers, keyed by the SHA-256 of the token (the
// process never keeps a usable token around). An entry lives min(cacheTtlMs, the token's exp):
// it never outlives the token. Negative answers are never cached, so a new token works at once.
//
// The price is a revocation delay: a token revoked at the authorization server keeps working on
// this gateway process until its entry expires — at most `cacheTtlMs` after the revocation.
import { createHash } from 'node:crypto';
import type { Verdict } from './acceptance.js';

interface Entry {
  verdict: Verdict;
  until: number;
}

export class AnswerCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64');
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): Verdict | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.until <= now) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return entry.verdict;
  }

  set(key: string, verdict: Verdict, now: number): void {
    const until = Math.min(now + this.ttlMs, verdict.expiresAt ?? Infinity);
    if (until <= now) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.maxEntries) {
      // Map iteration order is insertion order: the first key is the least recently used.
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { verdict, until });
  }

  clear(): void {
    this.#entries.clear();
  }
}
