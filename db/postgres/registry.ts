/** Signing keys, service clients and leases on PostgreSQL: small tables, read rarely, written by operators. */
import { and, asc, eq, isNull, lte, or, sql } from "drizzle-orm";
import type {
  Leases,
  ServiceClientRepository,
  ServiceClientRow,
  SigningKeyRepository,
  SigningKeyRow,
} from "../../server/core/ports";
import type { PostgresDatabase } from "./database";
import { leases, serviceClients, signingKeys } from "./schema";

export class PostgresSigningKeys implements SigningKeyRepository {
  constructor(private readonly database: PostgresDatabase) {}

  async listSigningKeys(): Promise<SigningKeyRow[]> {
    const db = this.database.db;
    return this.database.statement(() => db.select().from(signingKeys).orderBy(asc(signingKeys.activatesAt)));
  }

  async insertSigningKey(row: SigningKeyRow) {
    const db = this.database.db;
    await this.database.statement(() => db.insert(signingKeys).values(row));
  }

  async retireSigningKey(retired: SigningKeyRow) {
    const db = this.database.db;
    return this.database.statement(
      async () =>
        (
          await db
            .update(signingKeys)
            .set({ retiredAt: retired.retiredAt, mac: retired.mac })
            .where(and(eq(signingKeys.kid, retired.kid), isNull(signingKeys.retiredAt)))
            .returning()
        ).length > 0,
    );
  }
}

export class PostgresServiceClients implements ServiceClientRepository {
  private readonly byHash;

  constructor(private readonly database: PostgresDatabase) {
    this.byHash = database.db
      .select()
      .from(serviceClients)
      .where(eq(serviceClients.keyHash, sql.placeholder("hash")))
      .prepare("client_by_hash");
  }

  async findServiceClientByHash(keyHash: string): Promise<ServiceClientRow | null> {
    return this.database.statement(async () => (await this.byHash.execute({ hash: keyHash }))[0] ?? null);
  }

  async listServiceClients() {
    const db = this.database.db;
    // COLLATE "C": byte order, as SQLite sorts text, whatever the database's locale.
    return this.database.statement(() =>
      db.select().from(serviceClients).orderBy(sql`${serviceClients.name} collate "C"`),
    );
  }

  async addServiceClient(row: ServiceClientRow) {
    const db = this.database.db;
    return this.database.statement(
      async () => (await db.insert(serviceClients).values(row).onConflictDoNothing().returning()).length > 0,
    );
  }

  async removeServiceClient(name: string) {
    const db = this.database.db;
    return this.database.statement(
      async () => (await db.delete(serviceClients).where(eq(serviceClients.name, name)).returning()).length > 0,
    );
  }
}

export class PostgresLeases implements Leases {
  constructor(private readonly database: PostgresDatabase) {}

  /** One statement: ON CONFLICT locks the existing row, so two instances cannot both take it. */
  async acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    const db = this.database.db;
    return this.database.statement(
      async () =>
        (
          await db
            .insert(leases)
            .values({ name, owner, expiresAt: now + ttlMs })
            .onConflictDoUpdate({
              target: leases.name,
              set: { owner, expiresAt: now + ttlMs },
              setWhere: or(eq(leases.owner, owner), lte(leases.expiresAt, now)),
            })
            .returning()
        ).length > 0,
    );
  }

  async releaseLease(name: string, owner: string) {
    const db = this.database.db;
    await this.database.statement(() => db.delete(leases).where(and(eq(leases.name, name), eq(leases.owner, owner))));
  }
}
