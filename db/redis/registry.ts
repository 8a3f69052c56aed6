/**
 * Signing keys, service clients and leases on Redis. Signing keys are one hash (kid → row JSON, the
 * MAC included); clients are rows in two hashes (by name, by key hash); a lease is a hash per name,
 * taken and renewed by a script on the caller's clock.
 */
import type {
  Leases,
  ServiceClientRepository,
  ServiceClientRow,
  SigningKeyRepository,
  SigningKeyRow,
} from "../../server/core/ports";
import type { RedisConnection } from "./connection";
import type { Keys } from "./keys";
import type { Scripts } from "./scripts";

/** Byte order of the UTF-8 text, as SQLite sorts (and PostgreSQL with COLLATE "C"). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class RedisSigningKeys implements SigningKeyRepository {
  constructor(
    private readonly connection: RedisConnection,
    private readonly scripts: Scripts,
    private readonly keys: Keys,
  ) {}

  async listSigningKeys(): Promise<SigningKeyRow[]> {
    const rows = (await this.connection.send("HVALS", [this.keys.signingKeys])) as string[];
    return rows
      .map((text) => JSON.parse(text) as SigningKeyRow)
      .sort((a, b) => a.activatesAt - b.activatesAt || byteOrder(a.kid, b.kid));
  }

  async insertSigningKey(row: SigningKeyRow) {
    const added = await this.connection.send("HSETNX", [this.keys.signingKeys, row.kid, JSON.stringify(row)]);
    if (added !== 1) throw new Error("a signing key with this kid exists");
  }

  async retireSigningKey(retired: SigningKeyRow) {
    return (await this.scripts.run("key_retire", [retired.kid, JSON.stringify(retired)])) === 1;
  }
}

export class RedisServiceClients implements ServiceClientRepository {
  constructor(
    private readonly connection: RedisConnection,
    private readonly scripts: Scripts,
    private readonly keys: Keys,
  ) {}

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
}

export class RedisLeases implements Leases {
  constructor(private readonly scripts: Scripts) {}

  async acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    return (await this.scripts.run("lease_acquire", [name, owner, ttlMs, now])) === 1;
  }

  async releaseLease(name: string, owner: string) {
    await this.scripts.run("lease_release", [name, owner]);
  }
}
