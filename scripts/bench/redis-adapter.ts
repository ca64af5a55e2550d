// The persisted reference's storage: an oidc-provider adapter on Redis of the kind its users
// deploy (the shape of oidc-provider's own example Redis adapter, written here): one JSON string
// per `model:id` with a TTL (`SET … EX`), consumable models (codes, refresh tokens) as a hash so
// `consume` is one HSET, a list per grant (`grant:<id>`) naming the keys issued from it for
// `revokeByGrantId`, and `uid:` / `userCode:` index keys. Every key lives under a per-run prefix
// (ioredis `keyPrefix`), deleted by `dropPrefix` when the run ends. Used by stock-provider.ts.
import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';

const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const grantKey = (id: string) => `grant:${id}`;
const userCodeKey = (userCode: string) => `userCode:${userCode}`;
const uidKey = (uid: string) => `uid:${uid}`;

export function redisAdapterFactory(client: Redis) {
  return class RedisAdapter implements Adapter {
    constructor(readonly model: string) {}

    key(id: string): string {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.key(id);
      const multi = client.multi();
      if (CONSUMABLE.has(this.model)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (payload.grantId) {
        const gk = grantKey(payload.grantId);
        multi.rpush(gk, key);
        // The grant's list lives as long as the longest-lived thing issued from it.
        const ttl = await client.ttl(gk);
        if (expiresIn > ttl) multi.expire(gk, expiresIn);
      }
      if (payload.userCode) {
        multi.set(userCodeKey(payload.userCode), id);
        if (expiresIn) multi.expire(userCodeKey(payload.userCode), expiresIn);
      }
      if (payload.uid) {
        multi.set(uidKey(payload.uid), id);
        if (expiresIn) multi.expire(uidKey(payload.uid), expiresIn);
      }
      await multi.exec();
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const key = this.key(id);
      if (CONSUMABLE.has(this.model)) {
        const { payload, ...rest } = await client.hgetall(key);
        if (!payload) return undefined;
        return { ...(JSON.parse(payload) as AdapterPayload), ...(rest.consumed ? { consumed: Number(rest.consumed) } : {}) };
      }
      const data = await client.get(key);
      return data ? (JSON.parse(data) as AdapterPayload) : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await client.get(uidKey(uid));
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await client.get(userCodeKey(userCode));
      return id ? this.find(id) : undefined;
    }

    async consume(id: string): Promise<void> {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }

    async destroy(id: string): Promise<void> {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const gk = grantKey(grantId);
      const keys = await client.lrange(gk, 0, -1);
      const multi = client.multi();
      for (const k of keys) multi.del(k);
      multi.del(gk);
      await multi.exec();
    }
  };
}

/**
 * Deletes every key under the client's prefix (SCAN does not apply ioredis' keyPrefix, DEL
 * does: the scanned names are stripped of it before they are deleted). Returns the count.
 */
export async function dropPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await client.del(...keys.map((k) => k.slice(prefix.length)));
  } while (cursor !== '0');
  return deleted;
}
