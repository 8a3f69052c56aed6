/**
 * The Redis store's small registries: signing keys, service clients and relay leases. Signing keys
 * and clients are rows in two hashes each (by kid / by name, and a second index); leases are a
 * hash per name, taken and renewed by a script on the caller's clock.
 */
import type { ServiceClientRow, SigningKeyRow } from "../../server/core/ports";
import type { RedisConnection } from "./connection";
import type { Keys } from "./keys";
import type { Scripts } from "./scripts";

/** Byte order of the UTF-8 text, as SQLite sorts (and PostgreSQL with COLLATE "C"). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class RedisRegistry {
  constructor(
    private readonly connection: RedisConnection,
    private readonly scripts: Scripts,
    private readonly keys: Keys,
  ) {}

  async listSigningKeys(): Promise<SigningKeyRow[]> {
    const [rows, retired] = (await Promise.all([
      this.connection.send("HVALS", [this.keys.signingKeys]),
      this.connection.send("HGETALL", [this.keys.retiredKeys]),
    ])) as [string[], Record<string, string>];
    return rows
      .map((text) => {
        const row = JSON.parse(text) as SigningKeyRow;
        const retiredAt = retired[row.kid];
        return retiredAt === undefined ? row : { ...row, retiredAt: Number(retiredAt) };
      })
      .sort((a, b) => a.activatesAt - b.activatesAt || byteOrder(a.kid, b.kid));
  }

  async insertSigningKey(row: SigningKeyRow) {
    const added = await this.connection.send("HSETNX", [
      this.keys.signingKeys,
      row.kid,
      JSON.stringify({ ...row, retiredAt: null }),
    ]);
    if (added !== 1) throw new Error("a signing key with this kid exists");
    if (row.retiredAt !== null)
      await this.connection.send("HSETNX", [this.keys.retiredKeys, row.kid, String(row.retiredAt)]);
  }

  async retireSigningKey(kid: string, now: number) {
    // Keys are never deleted, so "exists, then set once" needs no script.
    if ((await this.connection.send("HEXISTS", [this.keys.signingKeys, kid])) !== 1) return false;
    return (await this.connection.send("HSETNX", [this.keys.retiredKeys, kid, String(now)])) === 1;
  }

  async findServiceClientByHash(keyHash: string): Promise<ServiceClientRow | null> {
    const text = await this.connection.send("HGET", [this.keys.clientsByHash, keyHash]);
    return typeof text === "string" ? (JSON.parse(text) as ServiceClientRow) : null;
  }

  async listServiceClients() {
    const rows = (await this.connection.send("HVALS", [this.keys.clients])) as string[];
    return rows.map((text) => JSON.parse(text) as ServiceClientRow).sort((a, b) => byteOrder(a.name, b.name));
  }

  async addServiceClient(row: ServiceClientRow) {
    const json = JSON.stringify({ name: row.name, keyHash: row.keyHash, createdAt: row.createdAt });
    return (await this.scripts.run("client_add", [row.name, row.keyHash, json])) === 1;
  }

  async removeServiceClient(name: string) {
    return (await this.scripts.run("client_remove", [name])) === 1;
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    return (await this.scripts.run("lease_acquire", [name, owner, ttlMs, now])) === 1;
  }

  async releaseLease(name: string, owner: string) {
    await this.scripts.run("lease_release", [name, owner]);
  }
}
