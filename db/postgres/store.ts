/**
 * SessionStore on PostgreSQL through Drizzle, with exactly the semantics of db/sqlite/store.ts.
 *
 * Where SQLite gets atomicity from its single writer, this store uses:
 * - single statements for the hot path (the rotation compare-and-swap is one UPDATE … RETURNING
 *   with the retired-token INSERT in a CTE), prepared once (queries.ts);
 * - READ COMMITTED transactions for changes that write outbox rows built by the core's
 *   EventFactory (the event needs the row the UPDATE returned);
 * - a per-user transaction-scoped advisory lock in createSession, revokeUserSessions and
 *   deleteUser, so the session cap and the deleted-user mark hold under concurrency: a
 *   user.deleted that races with creates leaves no active session behind.
 * Every connection opens with lock_timeout and statement_timeout; a timeout, a lost connection
 * and the like surface as ServiceError("unavailable") (errors.ts), never as a raw driver error.
 */
import {
  and,
  asc,
  count,
  countDistinct,
  desc,
  eq,
  gte,
  inArray,
  isNotNull,
  isNull,
  lte,
  min,
  ne,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import type { CloudEvent } from "../../server/core/events";
import type {
  EventFactory,
  NewSession,
  OutboxRow,
  PurgeResult,
  RevokeReason,
  RotateInput,
  RotateResult,
  ServiceClientRow,
  SessionFilter,
  SessionRow,
  SessionStore,
  SigningKeyRow,
  StoreStats,
  TokenRevokeResult,
} from "../../server/core/ports";
import type { PgClient, PgDb, PgDriver, PgTx } from "./driver";
import { bunSqlDriver } from "./drivers/bun-sql";
import { toUnavailable } from "./errors";
import { applyMigrations } from "./migrate";
import { active, prepareQueries, type Queries } from "./queries";
import { deletedUsers, leases, outbox, retiredRefreshTokens, serviceClients, sessions, signingKeys } from "./schema";

export interface PostgresOptions {
  url: string;
  /** Defaults to Bun's built-in client (the README, PostgreSQL, says why). */
  driver?: PgDriver;
  poolSize?: number;
  /** How long a statement waits for a row or advisory lock before the request answers 503. */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** First key of the two-int advisory lock space used for per-user locks (apart from the migration lock). */
const USER_LOCK_SPACE = 0x5e55;

const lockUser = (tx: PgTx, userId: string) =>
  tx.execute(sql`select pg_advisory_xact_lock(${sql.raw(String(USER_LOCK_SPACE))}, hashtext(${userId}))`);

/**
 * Whether the user is deleted, and the ids of their active sessions, most recently used first:
 * one round trip for what createSession decides on.
 */
async function userState(tx: PgTx, userId: string, now: number): Promise<Array<{ deleted: boolean; live: string[] }>> {
  return tx.execute(sql`select
    exists (select 1 from ${deletedUsers} where ${deletedUsers.userId} = ${userId}) as deleted,
    array(select ${sessions.sessionId} from ${sessions} where ${sessions.userId} = ${userId} and ${active(now)}
          order by ${sessions.lastUsedAt} desc, ${sessions.createdAt} desc) as live`) as never;
}

const outboxRow = (event: CloudEvent) => ({
  id: event.id,
  subject: event.type,
  payload: JSON.stringify(event),
  createdAt: Date.parse(event.time),
});

/** One multi-row INSERT: the sequence numbers follow the order of the list. */
async function writeEvents(tx: PgTx, events: CloudEvent[]): Promise<void> {
  if (events.length > 0) await tx.insert(outbox).values(events.map(outboxRow));
}

/** Revokes the active sessions matching `where`; returns them as they are afterwards. */
const revokeWhere = (tx: PgTx, where: SQL | undefined, reason: RevokeReason, now: number): Promise<SessionRow[]> =>
  tx
    .update(sessions)
    .set({ revokedAt: now, revokeReason: reason })
    .where(and(where, active(now)))
    .returning();

export class PostgresStore implements SessionStore {
  private constructor(
    private readonly client: PgClient,
    private readonly db: PgDb,
    private readonly q: Queries,
  ) {}

  /** Migrates (under an advisory lock, see migrate.ts), then opens the pool. */
  static async open(options: PostgresOptions): Promise<PostgresStore> {
    const driver = options.driver ?? bunSqlDriver;
    await applyMigrations(driver, options.url);
    const lockTimeout = options.lockTimeoutMs ?? 2000;
    const statementTimeout = options.statementTimeoutMs ?? 5000;
    const client = driver.connect(options.url, {
      max: options.poolSize ?? 10,
      params: {
        lock_timeout: lockTimeout,
        statement_timeout: statementTimeout,
        // A process stalled inside a transaction must not hold row or user locks for long.
        idle_in_transaction_session_timeout: Math.max(10_000, 2 * statementTimeout),
        application_name: "session-service",
      },
      connectTimeoutSeconds: 5,
    });
    return new PostgresStore(client, client.db, prepareQueries(client.db));
  }

  /** One READ COMMITTED transaction; store failures become `unavailable`. */
  private async write<T>(body: (tx: PgTx) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(body);
    } catch (error) {
      throw toUnavailable(error);
    }
  }

  private async read<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toUnavailable(error);
    }
  }

  async createSession({ row, maxSessionsPerUser }: NewSession, events: EventFactory) {
    return this.write(async (tx) => {
      // Serialises this user's creates and deletion: the statements after it see every earlier
      // commit (the lock is its own statement: a READ COMMITTED statement reads the snapshot it
      // started with, which could predate the commit we waited for).
      await lockUser(tx, row.userId);
      const [state] = await userState(tx, row.userId, row.createdAt);
      if (state.deleted) return null;
      const evicted: SessionRow[] = [];
      if (maxSessionsPerUser > 0) {
        // Least recently used last in this order: evict from the end, LRU first.
        const victims = state.live.slice(maxSessionsPerUser - 1).reverse();
        if (victims.length > 0) {
          const revoked = await revokeWhere(tx, inArray(sessions.sessionId, victims), "session_limit", row.createdAt);
          const byId = new Map(revoked.map((r) => [r.sessionId, r]));
          for (const id of victims) if (byId.has(id)) evicted.push(byId.get(id)!);
        }
      }
      // The session and its events in one statement (a data-modifying CTE): one round trip less.
      const inserted = tx.$with("inserted").as(tx.insert(sessions).values(row).returning({ id: sessions.sessionId }));
      await tx
        .with(inserted)
        .insert(outbox)
        .values([...evicted.map((r) => events.revoked(r)), events.created(row)].map(outboxRow));
      return { row, evicted };
    });
  }

  async rotate(input: RotateInput, events: EventFactory): Promise<RotateResult> {
    const params = {
      presentedHash: input.presentedHash,
      now: input.now,
      accessExpiresAt: input.accessExpiresAt,
      userAgent: input.userAgent ?? null,
      ip: input.ip ?? null,
    };
    const [rotated] = await this.read(() =>
      this.q.rotate.execute({
        ...params,
        newHash: input.newHash,
        nonce: input.nonce,
        idleDeadline: input.now + input.idleTimeoutMs,
      }),
    );
    if (rotated) return { kind: "rotated", row: rotated };
    const [replay] = await this.read(() =>
      this.q.graceReplay.execute({ ...params, graceStart: input.now - input.graceMs }),
    );
    if (replay) return { kind: "grace_replay", row: replay };
    // Neither current nor in grace: a retired token is reuse, and its revocation commits here.
    return this.write(async (tx): Promise<RotateResult> => {
      const [revoked] = await revokeWhere(
        tx,
        inArray(sessions.sessionId, this.retiredSession(tx, input.presentedHash)),
        "refresh_token_reuse",
        input.now,
      );
      if (revoked) {
        await writeEvents(tx, [events.revoked(revoked)]);
        return { kind: "reuse_revoked", row: revoked };
      }
      // Still the current token of an unrevoked session, yet the swap failed: it ran past its deadline.
      // (A retired hash is never a current one, so this needs no separate "retired but ended" case.)
      const [current] = await tx
        .select({ revokedAt: sessions.revokedAt })
        .from(sessions)
        .where(eq(sessions.refreshTokenHash, input.presentedHash));
      return current && current.revokedAt === null ? { kind: "expired" } : { kind: "invalid" };
    });
  }

  private retiredSession(tx: PgTx, hash: string) {
    return tx
      .select({ id: retiredRefreshTokens.sessionId })
      .from(retiredRefreshTokens)
      .where(eq(retiredRefreshTokens.tokenHash, hash));
  }

  async findActiveByTokenHash(hash: string, now: number) {
    return this.read(async () => (await this.q.activeByHash.execute({ hash, now }))[0] ?? null);
  }

  async revokeByTokenHash(
    hash: string,
    now: number,
    graceMs: number,
    events: EventFactory,
  ): Promise<TokenRevokeResult> {
    return this.write(async (tx): Promise<TokenRevokeResult> => {
      const [current] = await tx
        .select({ id: sessions.sessionId })
        .from(sessions)
        .where(
          or(
            eq(sessions.refreshTokenHash, hash),
            and(eq(sessions.previousTokenHash, hash), gte(sessions.rotatedAt, now - graceMs)),
          ),
        )
        .limit(1);
      const [retired] = current ? [] : await this.retiredSession(tx, hash);
      const target = current ?? retired;
      if (!target) return "unknown";
      const reason = current ? "logout" : "refresh_token_reuse";
      await writeEvents(
        tx,
        (await revokeWhere(tx, eq(sessions.sessionId, target.id), reason, now)).map((r) => events.revoked(r)),
      );
      return reason;
    });
  }

  async findSession(sessionId: string) {
    return this.read(async () => (await this.q.sessionById.execute({ id: sessionId }))[0] ?? null);
  }

  async findActiveSession(sessionId: string, now: number) {
    return this.read(async () => (await this.q.activeById.execute({ id: sessionId, now }))[0] ?? null);
  }

  async revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    return this.write(async (tx) => {
      // FOR UPDATE: the row we answer with is the one our UPDATE decides on, as under SQLite's write lock.
      const [row] = await tx.select().from(sessions).where(eq(sessions.sessionId, sessionId)).for("update");
      if (!row || (ownerUserId !== null && row.userId !== ownerUserId)) return null;
      const [revoked] = await revokeWhere(tx, eq(sessions.sessionId, sessionId), reason, now);
      if (revoked) await writeEvents(tx, [events.revoked(revoked)]);
      return { row: revoked ?? row, changed: revoked !== undefined };
    });
  }

  private async revokeAllOf(
    tx: PgTx,
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keep?: string,
  ) {
    const rows = await revokeWhere(
      tx,
      and(eq(sessions.userId, userId), keep ? ne(sessions.sessionId, keep) : undefined),
      reason,
      now,
    );
    await writeEvents(
      tx,
      rows.map((r) => events.revoked(r)),
    );
    return rows.length;
  }

  async revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keepSessionId?: string,
  ) {
    return this.write(async (tx) => {
      await lockUser(tx, userId);
      return this.revokeAllOf(tx, userId, reason, now, events, keepSessionId);
    });
  }

  async deleteUser(userId: string, now: number, events: EventFactory) {
    return this.write(async (tx) => {
      // Under the user lock, a create either committed before (and is revoked here) or sees the mark.
      await lockUser(tx, userId);
      await tx.insert(deletedUsers).values({ userId, deletedAt: now }).onConflictDoNothing();
      return this.revokeAllOf(tx, userId, "user_deleted", now, events);
    });
  }

  async isUserDeleted(userId: string) {
    return this.read(async () => (await this.q.isDeleted.execute({ userId })).length > 0);
  }

  async listActiveSessions(userId: string, now: number) {
    return this.read(() => this.q.activeOfUser.execute({ userId, now }));
  }

  async listSessions(filter: SessionFilter, now: number) {
    const byStatus = {
      all: undefined,
      active: active(now),
      revoked: isNotNull(sessions.revokedAt),
      expired: and(isNull(sessions.revokedAt), lte(sessions.expiresAt, now)),
    }[filter.status ?? "all"];
    return this.read(() =>
      this.db
        .select()
        .from(sessions)
        .where(and(filter.userId ? eq(sessions.userId, filter.userId) : undefined, byStatus))
        .orderBy(desc(sessions.createdAt), desc(sessions.sessionId))
        .limit(filter.limit ?? 100),
    );
  }

  async stats(now: number): Promise<StoreStats> {
    return this.read(async () => {
      // Filtered counts rather than GROUP BY a CASE: PostgreSQL sees the CASE in the select list and
      // in the GROUP BY as different expressions once `now` is a separate parameter in each.
      const countWhere = (where: SQL | undefined) => sql<number>`count(*) filter (where ${where})`.mapWith(Number);
      const [counts] = await this.db
        .select({
          active: countWhere(active(now)),
          revoked: countWhere(isNotNull(sessions.revokedAt)),
          expired: countWhere(and(isNull(sessions.revokedAt), lte(sessions.expiresAt, now))),
        })
        .from(sessions);
      const [users] = await this.db
        .select({ n: countDistinct(sessions.userId) })
        .from(sessions)
        .where(active(now));
      const [pending] = await this.db
        .select({ n: count(), oldest: min(outbox.createdAt) })
        .from(outbox)
        .where(isNull(outbox.sentAt));
      return {
        sessions: counts!,
        users: users!.n,
        events: { pending: pending!.n, oldestPendingCreatedAt: pending!.oldest ?? null },
      };
    });
  }

  async purge(endedBefore: number, batch: number, dryRun: boolean, now: number): Promise<PurgeResult> {
    const ended = or(
      lte(sessions.revokedAt, endedBefore),
      and(isNull(sessions.revokedAt), lte(sessions.expiresAt, Math.min(endedBefore, now))),
    );
    const relayed = and(isNotNull(outbox.sentAt), lte(outbox.sentAt, endedBefore));
    if (dryRun) {
      return this.read(async () => ({
        sessions: (await this.db.select({ n: count() }).from(sessions).where(ended))[0]!.n,
        events: (await this.db.select({ n: count() }).from(outbox).where(relayed))[0]!.n,
      }));
    }
    return this.write(async (tx) => {
      const ids = (await tx.select({ id: sessions.sessionId }).from(sessions).where(ended).limit(batch)).map(
        (r) => r.id,
      );
      if (ids.length > 0) {
        await tx.delete(retiredRefreshTokens).where(inArray(retiredRefreshTokens.sessionId, ids));
        await tx.delete(sessions).where(inArray(sessions.sessionId, ids));
      }
      const seqs = (await tx.select({ seq: outbox.seq }).from(outbox).where(relayed).limit(batch)).map((r) => r.seq);
      if (seqs.length > 0) await tx.delete(outbox).where(inArray(outbox.seq, seqs));
      return { sessions: ids.length, events: seqs.length };
    });
  }

  async listSigningKeys(): Promise<SigningKeyRow[]> {
    return this.read(() => this.db.select().from(signingKeys).orderBy(asc(signingKeys.activatesAt)));
  }

  async insertSigningKey(row: SigningKeyRow) {
    await this.read(() => this.db.insert(signingKeys).values(row));
  }

  async retireSigningKey(kid: string, now: number) {
    return this.read(
      async () =>
        (
          await this.db
            .update(signingKeys)
            .set({ retiredAt: now })
            .where(and(eq(signingKeys.kid, kid), isNull(signingKeys.retiredAt)))
            .returning()
        ).length > 0,
    );
  }

  async findServiceClientByHash(keyHash: string): Promise<ServiceClientRow | null> {
    return this.read(async () => (await this.q.clientByHash.execute({ hash: keyHash }))[0] ?? null);
  }

  async listServiceClients() {
    // COLLATE "C": byte order, as SQLite sorts text, whatever the database's locale.
    return this.read(() => this.db.select().from(serviceClients).orderBy(sql`${serviceClients.name} collate "C"`));
  }

  async addServiceClient(row: ServiceClientRow) {
    return this.read(
      async () => (await this.db.insert(serviceClients).values(row).onConflictDoNothing().returning()).length > 0,
    );
  }

  async removeServiceClient(name: string) {
    return this.read(
      async () => (await this.db.delete(serviceClients).where(eq(serviceClients.name, name)).returning()).length > 0,
    );
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    // One statement: ON CONFLICT locks the existing row, so two instances cannot both take it.
    return this.read(async () => {
      const taken = await this.db
        .insert(leases)
        .values({ name, owner, expiresAt: now + ttlMs })
        .onConflictDoUpdate({
          target: leases.name,
          set: { owner, expiresAt: now + ttlMs },
          setWhere: or(eq(leases.owner, owner), lte(leases.expiresAt, now)),
        })
        .returning();
      return taken.length > 0;
    });
  }

  async releaseLease(name: string, owner: string) {
    await this.read(() => this.db.delete(leases).where(and(eq(leases.name, name), eq(leases.owner, owner))));
  }

  async pendingEvents(limit: number): Promise<OutboxRow[]> {
    return this.read(() => this.q.pendingEvents.execute({ limit }));
  }

  async markEventsSent(ids: string[], now: number) {
    if (ids.length === 0) return;
    await this.read(() => this.db.update(outbox).set({ sentAt: now }).where(inArray(outbox.id, ids)));
  }

  async checkWritable() {
    // An UPDATE that matches nothing still fails on a read-only server (a standby after failover)
    // and needs a live connection: exactly what readiness asks.
    await this.read(() => this.db.execute(sql`update signing_keys set kid = kid where false`));
  }

  async close() {
    await this.client.close();
  }
}
