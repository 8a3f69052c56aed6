/** Signing keys, service clients and leases on SQLite: small tables, read rarely, written by operators. */
import { and, asc, eq, isNull, lte, or, sql } from "drizzle-orm";
import type {
  Leases,
  ServiceClientRepository,
  ServiceClientRow,
  SigningKeyRepository,
  SigningKeyRow,
} from "../../server/core/ports";
import type { SqliteDatabase } from "./database";
import { leases, serviceClients, signingKeys } from "./schema";

export class SqliteSigningKeys implements SigningKeyRepository {
  constructor(private readonly database: SqliteDatabase) {}

  async listSigningKeys() {
    const db = this.database.db;
    return this.database.read(() => db.select().from(signingKeys).orderBy(asc(signingKeys.activatesAt)).all());
  }

  async insertSigningKey(row: SigningKeyRow) {
    const db = this.database.db;
    await this.database.write(() => db.insert(signingKeys).values(row).run());
  }

  async retireSigningKey(retired: SigningKeyRow) {
    const db = this.database.db;
    return this.database.write(
      () =>
        db
          .update(signingKeys)
          .set({ retiredAt: retired.retiredAt, mac: retired.mac })
          .where(and(eq(signingKeys.kid, retired.kid), isNull(signingKeys.retiredAt)))
          .returning()
          .all().length > 0,
    );
  }
}

export class SqliteServiceClients implements ServiceClientRepository {
  private readonly byHash;

  constructor(private readonly database: SqliteDatabase) {
    this.byHash = database.db
      .select()
      .from(serviceClients)
      .where(eq(serviceClients.keyHash, sql.placeholder("hash")))
      .prepare();
  }

  async findServiceClientByHash(keyHash: string) {
    return this.database.read(() => (this.byHash.get({ hash: keyHash }) as ServiceClientRow | undefined) ?? null);
  }

  async listServiceClients() {
    const db = this.database.db;
    return this.database.read(() => db.select().from(serviceClients).orderBy(asc(serviceClients.name)).all());
  }

  async addServiceClient(row: ServiceClientRow) {
    const db = this.database.db;
    return this.database.write(
      () => db.insert(serviceClients).values(row).onConflictDoNothing().returning().all().length > 0,
    );
  }

  async removeServiceClient(name: string) {
    const db = this.database.db;
    return this.database.write(
      () => db.delete(serviceClients).where(eq(serviceClients.name, name)).returning().all().length > 0,
    );
  }
}

export class SqliteLeases implements Leases {
  constructor(private readonly database: SqliteDatabase) {}

  async acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    const db = this.database.db;
    return this.database.write(
      () =>
        db
          .insert(leases)
          .values({ name, owner, expiresAt: now + ttlMs })
          .onConflictDoUpdate({
            target: leases.name,
            set: { owner, expiresAt: now + ttlMs },
            setWhere: or(eq(leases.owner, owner), lte(leases.expiresAt, now)),
          })
          .returning()
          .all().length > 0,
    );
  }

  async releaseLease(name: string, owner: string) {
    const db = this.database.db;
    await this.database.write(() =>
      db
        .delete(leases)
        .where(and(eq(leases.name, name), eq(leases.owner, owner)))
        .run(),
    );
  }
}
