/**
 * SessionStore on bun:sqlite through Drizzle. Every write is one synchronous `BEGIN IMMEDIATE`
 * transaction (an async callback would commit at its first await), so SQLite's single writer makes
 * each state change, and the outbox rows it reports, atomic. Hot-path statements are prepared once.
 */
import { Database } from "bun:sqlite";
import {
  and,
  asc,
  count,
  countDistinct,
  desc,
  eq,
  getTableColumns,
  gt,
  inArray,
  isNotNull,
  isNull,
  lte,
  min,
  ne,
  or,
  type Placeholder,
  sql,
} from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
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
import { Checkpointer } from "./checkpointer";
import { toUnavailable } from "./errors";
import { GroupCommit } from "./group-commit";
import { applyMigrations } from "./migrate";
import * as schema from "./schema";
import { deletedUsers, leases, outbox, retiredRefreshTokens, serviceClients, sessions, signingKeys } from "./schema";

export interface SqliteOptions {
  path: string;
  synchronous: "FULL" | "NORMAL";
  busyTimeoutMs: number;
  /** Most WAL checkpointing in a worker thread instead of inside a COMMIT (checkpointer.ts): the server does. */
  backgroundCheckpoints?: boolean;
}

const p = sql.placeholder;
const active = (now: number | Placeholder) => and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now as number));

/** Most recently used first (the order of /session/me; eviction takes from the end). */
const byRecentUse = (rows: SessionRow[]) =>
  rows.sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt);

export function openSqlite(options: SqliteOptions): Database {
  const client = new Database(options.path, { create: true, strict: true });
  client.run(`PRAGMA busy_timeout = ${Math.floor(options.busyTimeoutMs)}`);
  client.run("PRAGMA journal_mode = WAL");
  client.run(`PRAGMA synchronous = ${options.synchronous}`);
  return client;
}

export class SqliteStore implements SessionStore {
  readonly client: Database;
  readonly db;
  private readonly q;
  private readonly hot;
  private readonly commits: GroupCommit;
  readonly checkpointer: Checkpointer | null = null;

  constructor(options: SqliteOptions) {
    this.client = openSqlite(options);
    this.db = drizzle(this.client, { schema });
    applyMigrations(this.db);
    this.q = this.prepare();
    this.hot = this.prepareHotReads();
    this.commits = new GroupCommit(this.client);
    if (options.backgroundCheckpoints && options.path !== ":memory:") {
      this.checkpointer = new Checkpointer(options);
    }
  }

  private prepare() {
    const db = this.db;
    const now = p("now");
    return {
      sessionById: db
        .select()
        .from(sessions)
        .where(eq(sessions.sessionId, p("id")))
        .prepare(),
      byHash: db
        .select()
        .from(sessions)
        .where(eq(sessions.refreshTokenHash, p("hash")))
        .prepare(),
      byPreviousInGrace: db
        .select()
        .from(sessions)
        .where(and(eq(sessions.previousTokenHash, p("hash")), sql`${sessions.rotatedAt} >= ${p("graceStart")}`))
        .prepare(),
      retired: db
        .select()
        .from(retiredRefreshTokens)
        .where(eq(retiredRefreshTokens.tokenHash, p("hash")))
        .prepare(),
      // The compare-and-swap: only the request that still sees the presented hash as current wins.
      rotate: db
        .update(sessions)
        .set({
          previousTokenHash: sql`${sessions.refreshTokenHash}`,
          refreshTokenHash: sql`${p("newHash")}`,
          rotationNonce: sql`${p("nonce")}`,
          rotatedAt: sql`${now}`,
          rotationCount: sql`${sessions.rotationCount} + 1`,
          lastUsedAt: sql`${now}`,
          expiresAt: sql`min(${sessions.absoluteExpiresAt}, ${p("idleDeadline")})`,
          accessExpiresAt: sql`max(${sessions.accessExpiresAt}, ${p("accessExpiresAt")})`,
          userAgent: sql`coalesce(${p("userAgent")}, ${sessions.userAgent})`,
          ip: sql`coalesce(${p("ip")}, ${sessions.ip})`,
        })
        .where(and(eq(sessions.refreshTokenHash, p("presentedHash")), active(now)))
        .returning()
        .prepare(),
      graceReplay: db
        .update(sessions)
        .set({
          accessExpiresAt: sql`max(${sessions.accessExpiresAt}, ${p("accessExpiresAt")})`,
          userAgent: sql`coalesce(${p("userAgent")}, ${sessions.userAgent})`,
          ip: sql`coalesce(${p("ip")}, ${sessions.ip})`,
        })
        .where(
          and(
            eq(sessions.previousTokenHash, p("presentedHash")),
            sql`${sessions.rotatedAt} >= ${p("graceStart")}`,
            active(now),
          ),
        )
        .returning()
        .prepare(),
      retire: db
        .insert(retiredRefreshTokens)
        .values({ tokenHash: sql`${p("hash")}`, sessionId: sql`${p("sessionId")}` })
        .onConflictDoNothing()
        .prepare(),
      revokeOne: db
        .update(sessions)
        .set({ revokedAt: sql`${now}`, revokeReason: sql`${p("reason")}` })
        .where(and(eq(sessions.sessionId, p("id")), active(now)))
        .returning()
        .prepare(),
      isDeleted: db
        .select({ userId: deletedUsers.userId })
        .from(deletedUsers)
        .where(eq(deletedUsers.userId, p("userId")))
        .prepare(),
      insertEvent: db
        .insert(outbox)
        .values({
          id: sql`${p("id")}`,
          subject: sql`${p("subject")}`,
          payload: sql`${p("payload")}`,
          createdAt: sql`${p("createdAt")}`,
        })
        .prepare(),
      clientByHash: db
        .select()
        .from(serviceClients)
        .where(eq(serviceClients.keyHash, p("hash")))
        .prepare(),
    };
  }

  /**
   * The reads of every validate, refresh and user request, as plain bun:sqlite statements: Drizzle's
   * row mapping cost about as much as the query itself. Columns are aliased to SessionRow's names.
   */
  private prepareHotReads() {
    const columns = getTableColumns(sessions);
    const select = Object.entries(columns)
      .map(([field, column]) => `"${column.name}" as "${field}"`)
      .join(", ");
    const live = "revoked_at is null and expires_at > ?2";
    return {
      activeByHash: this.client.prepare<SessionRow, [string, number]>(
        `select ${select} from sessions where refresh_token_hash = ?1 and ${live}`,
      ),
      activeById: this.client.prepare<SessionRow, [string, number]>(
        `select ${select} from sessions where session_id = ?1 and ${live}`,
      ),
      // Unordered: SQLite sorts this with a temporary B-tree that cost several times the query; see byRecentUse.
      activeOfUser: this.client.prepare<SessionRow, [string, number]>(
        `select ${select} from sessions where user_id = ?1 and ${live}`,
      ),
    };
  }

  /** One synchronous BEGIN IMMEDIATE transaction; store failures become `unavailable`. */
  private write<T>(body: () => T): Promise<T> {
    return this.commits.run(body);
  }

  private read<T>(body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw toUnavailable(error);
    }
  }

  private emit(event: CloudEvent): void {
    this.q.insertEvent.run({
      id: event.id,
      subject: event.type,
      payload: JSON.stringify(event),
      createdAt: Date.parse(event.time),
    });
  }

  private revokeRow(sessionId: string, reason: RevokeReason, now: number, events: EventFactory): SessionRow | null {
    const row = this.q.revokeOne.get({ id: sessionId, reason, now }) as SessionRow | undefined;
    if (row) this.emit(events.revoked(row));
    return row ?? null;
  }

  async createSession({ row, maxSessionsPerUser }: NewSession, events: EventFactory) {
    return this.write(() => {
      if (this.q.isDeleted.get({ userId: row.userId })) return null;
      const evicted: SessionRow[] = [];
      if (maxSessionsPerUser > 0) {
        const live = byRecentUse(this.hot.activeOfUser.all(row.userId, row.createdAt));
        // Least recently used last in this order: evict from the end.
        for (const old of live.slice(maxSessionsPerUser - 1).reverse()) {
          const revoked = this.revokeRow(old.sessionId, "session_limit", row.createdAt, events);
          if (revoked) evicted.push(revoked);
        }
      }
      this.db.insert(sessions).values(row).run();
      this.emit(events.created(row));
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
    return this.write((): RotateResult => {
      const rotated = this.q.rotate.get({
        ...params,
        newHash: input.newHash,
        nonce: input.nonce,
        idleDeadline: input.now + input.idleTimeoutMs,
      }) as SessionRow | undefined;
      if (rotated) {
        this.q.retire.run({ hash: input.presentedHash, sessionId: rotated.sessionId });
        return { kind: "rotated", row: rotated };
      }
      const replay = this.q.graceReplay.get({ ...params, graceStart: input.now - input.graceMs }) as
        | SessionRow
        | undefined;
      if (replay) return { kind: "grace_replay", row: replay };
      const retired = this.q.retired.get({ hash: input.presentedHash });
      if (retired) {
        const revoked = this.revokeRow(retired.sessionId, "refresh_token_reuse", input.now, events);
        if (revoked) return { kind: "reuse_revoked", row: revoked };
        return { kind: "invalid" };
      }
      const current = this.q.byHash.get({ hash: input.presentedHash }) as SessionRow | undefined;
      return current && current.revokedAt === null ? { kind: "expired" } : { kind: "invalid" };
    });
  }

  async findActiveByTokenHash(hash: string, now: number) {
    return this.read(() => this.hot.activeByHash.get(hash, now) ?? null);
  }

  async revokeByTokenHash(
    hash: string,
    now: number,
    graceMs: number,
    events: EventFactory,
  ): Promise<TokenRevokeResult> {
    return this.write((): TokenRevokeResult => {
      const current =
        (this.q.byHash.get({ hash }) as SessionRow | undefined) ??
        (this.q.byPreviousInGrace.get({ hash, graceStart: now - graceMs }) as SessionRow | undefined);
      if (current) {
        this.revokeRow(current.sessionId, "logout", now, events);
        return "logout";
      }
      const retired = this.q.retired.get({ hash });
      if (retired) {
        this.revokeRow(retired.sessionId, "refresh_token_reuse", now, events);
        return "refresh_token_reuse";
      }
      return "unknown";
    });
  }

  async findSession(sessionId: string) {
    return this.read(() => (this.q.sessionById.get({ id: sessionId }) as SessionRow | undefined) ?? null);
  }

  async findActiveSession(sessionId: string, now: number) {
    return this.read(() => this.hot.activeById.get(sessionId, now) ?? null);
  }

  async revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    return this.write(() => {
      const row = this.q.sessionById.get({ id: sessionId }) as SessionRow | undefined;
      if (!row || (ownerUserId !== null && row.userId !== ownerUserId)) return null;
      const revoked = this.revokeRow(sessionId, reason, now, events);
      return { row: revoked ?? row, changed: revoked !== null };
    });
  }

  private revokeAllOf(userId: string, reason: RevokeReason, now: number, events: EventFactory, keep?: string): number {
    const rows = this.db
      .update(sessions)
      .set({ revokedAt: now, revokeReason: reason })
      .where(and(eq(sessions.userId, userId), active(now), keep ? ne(sessions.sessionId, keep) : undefined))
      .returning()
      .all() as SessionRow[];
    for (const row of rows) this.emit(events.revoked(row));
    return rows.length;
  }

  async revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keepSessionId?: string,
  ) {
    return this.write(() => this.revokeAllOf(userId, reason, now, events, keepSessionId));
  }

  async deleteUser(userId: string, now: number, events: EventFactory) {
    return this.write(() => {
      this.db.insert(deletedUsers).values({ userId, deletedAt: now }).onConflictDoNothing().run();
      return this.revokeAllOf(userId, "user_deleted", now, events);
    });
  }

  async isUserDeleted(userId: string) {
    return this.read(() => this.q.isDeleted.get({ userId }) !== undefined);
  }

  async listActiveSessions(userId: string, now: number) {
    return this.read(() => byRecentUse(this.hot.activeOfUser.all(userId, now)));
  }

  async listSessions(filter: SessionFilter, now: number) {
    const byStatus = {
      all: undefined,
      active: active(now),
      revoked: isNotNull(sessions.revokedAt),
      expired: and(isNull(sessions.revokedAt), lte(sessions.expiresAt, now)),
    }[filter.status ?? "all"];
    return this.read(
      () =>
        this.db
          .select()
          .from(sessions)
          .where(and(filter.userId ? eq(sessions.userId, filter.userId) : undefined, byStatus))
          .orderBy(desc(sessions.createdAt), desc(sessions.sessionId))
          .limit(filter.limit ?? 100)
          .all() as SessionRow[],
    );
  }

  async stats(now: number): Promise<StoreStats> {
    return this.read(() => {
      const status = sql<string>`case when ${sessions.revokedAt} is not null then 'revoked' when ${sessions.expiresAt} <= ${now} then 'expired' else 'active' end`;
      const counts = { active: 0, revoked: 0, expired: 0 };
      for (const row of this.db.select({ status, n: count() }).from(sessions).groupBy(status).all()) {
        counts[row.status as keyof typeof counts] = row.n;
      }
      const users = this.db
        .select({ n: countDistinct(sessions.userId) })
        .from(sessions)
        .where(active(now))
        .get()!.n;
      const pending = this.db
        .select({ n: count(), oldest: min(outbox.createdAt) })
        .from(outbox)
        .where(isNull(outbox.sentAt))
        .get()!;
      return {
        sessions: counts,
        users,
        events: { pending: pending.n, oldestPendingCreatedAt: pending.oldest ?? null },
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
      return this.read(() => ({
        sessions: this.db.select({ n: count() }).from(sessions).where(ended).get()!.n,
        events: this.db.select({ n: count() }).from(outbox).where(relayed).get()!.n,
      }));
    }
    return this.write(() => {
      const ids = this.db
        .select({ id: sessions.sessionId })
        .from(sessions)
        .where(ended)
        .limit(batch)
        .all()
        .map((r) => r.id);
      if (ids.length > 0) {
        this.db.delete(retiredRefreshTokens).where(inArray(retiredRefreshTokens.sessionId, ids)).run();
        this.db.delete(sessions).where(inArray(sessions.sessionId, ids)).run();
      }
      const seqs = this.db
        .select({ seq: outbox.seq })
        .from(outbox)
        .where(relayed)
        .limit(batch)
        .all()
        .map((r) => r.seq);
      if (seqs.length > 0) this.db.delete(outbox).where(inArray(outbox.seq, seqs)).run();
      return { sessions: ids.length, events: seqs.length };
    });
  }

  async listSigningKeys() {
    return this.read(
      () => this.db.select().from(signingKeys).orderBy(asc(signingKeys.activatesAt)).all() as SigningKeyRow[],
    );
  }

  async insertSigningKey(row: SigningKeyRow) {
    await this.write(() => this.db.insert(signingKeys).values(row).run());
  }

  async retireSigningKey(kid: string, now: number) {
    return this.write(
      () =>
        this.db
          .update(signingKeys)
          .set({ retiredAt: now })
          .where(and(eq(signingKeys.kid, kid), isNull(signingKeys.retiredAt)))
          .returning()
          .all().length > 0,
    );
  }

  async findServiceClientByHash(keyHash: string) {
    return this.read(() => (this.q.clientByHash.get({ hash: keyHash }) as ServiceClientRow | undefined) ?? null);
  }

  async listServiceClients() {
    return this.read(() => this.db.select().from(serviceClients).orderBy(asc(serviceClients.name)).all());
  }

  async addServiceClient(row: ServiceClientRow) {
    return this.write(
      () => this.db.insert(serviceClients).values(row).onConflictDoNothing().returning().all().length > 0,
    );
  }

  async removeServiceClient(name: string) {
    return this.write(
      () => this.db.delete(serviceClients).where(eq(serviceClients.name, name)).returning().all().length > 0,
    );
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    return this.write(() => {
      const taken = this.db
        .insert(leases)
        .values({ name, owner, expiresAt: now + ttlMs })
        .onConflictDoUpdate({
          target: leases.name,
          set: { owner, expiresAt: now + ttlMs },
          setWhere: or(eq(leases.owner, owner), lte(leases.expiresAt, now)),
        })
        .returning()
        .all();
      return taken.length > 0;
    });
  }

  async releaseLease(name: string, owner: string) {
    await this.write(() =>
      this.db
        .delete(leases)
        .where(and(eq(leases.name, name), eq(leases.owner, owner)))
        .run(),
    );
  }

  async pendingEvents(limit: number): Promise<OutboxRow[]> {
    return this.read(() =>
      this.db.select().from(outbox).where(isNull(outbox.sentAt)).orderBy(asc(outbox.seq)).limit(limit).all(),
    );
  }

  async markEventsSent(ids: string[], now: number) {
    if (ids.length === 0) return;
    await this.write(() => this.db.update(outbox).set({ sentAt: now }).where(inArray(outbox.id, ids)).run());
  }

  async checkWritable() {
    // Taking the write lock proves the file is writable and not locked past the busy timeout.
    await this.write(() => this.db.run(sql`update signing_keys set kid = kid where 0`));
  }

  async close() {
    await this.checkpointer?.stop();
    this.client.close();
  }
}
