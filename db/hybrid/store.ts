/**
 * Hybrid mode: DATABASE_URL is a SQL store (SQLite or PostgreSQL), the record; REDIS_URL is a read
 * cache for the two hot reads, findActiveByTokenHash (validate) and findActiveSession (the session
 * check behind every access token). Every other method, and every write, goes to SQL unchanged.
 *
 * THE RULE: a revoked or rotated-away token is never accepted once the call that ended it returned,
 * whatever Redis does (slow, restarted, flushed, unreachable). How:
 *
 * 1. Entries. `tok:{hash}` / `sid:{sessionId}` hold an active row, written only after a miss read
 *    it from SQL. Each entry carries `validUntil` = (time the SQL read *started*) + T, checked by
 *    the reader on this process's clock, and a Redis TTL of at most T (capped at the row's
 *    expiresAt). So an entry never outlives T after the SQL state it copies — even when Redis
 *    applies the write late (a paused server runs queued commands after SIGCONT), loses TTLs, or
 *    clocks of Redis and this host differ. T = REDIS_CACHE_TTL, default 2 s.
 * 2. Invalidation. A write that ends sessions or rotates a token (rotate, revokeSession,
 *    revokeByTokenHash, revokeUserSessions, deleteUser, createSession evictions) commits in SQL
 *    first, then ONE Lua script deletes the entries (tok:{current and previous hash}, sid:{id}),
 *    sets tombstones `dead:{id}` (ended sessions) / `dt:{hash}` (rotated-away tokens) with TTL 2T,
 *    and for user-wide writes replaces `uv:{userId}`. Affected sessions are known from the rows the
 *    SQL store reports through the EventFactory (every revoked row passes `events.revoked`), from
 *    listActiveSessions before user-wide writes, and from the returned rows; the `uv:` value that
 *    every entry records (compared on each hit) also kills entries of sessions nobody enumerated.
 * 3. Races. A reader that read SQL before the commit may write its entry after the invalidation:
 *    the fill script refuses when a tombstone exists (it lives 2T, longer than the reader's entry
 *    could be valid anyway), and when the epoch key `ep` changed since the reader's lookup (FLUSHALL
 *    or a restart between lookup and fill wipes tombstones: the epoch goes with them).
 * 4. Redis failing during invalidation (error or timeout): the SQL write stands (it is the record)
 *    but the call waits T + margin BEFORE returning. By then every entry copied from pre-commit SQL
 *    state has passed its validUntil (rule 1), so nobody hears "logged out" while a stale positive
 *    entry could still be served — on any instance. Cost: a logout or refresh during a Redis
 *    outage takes T + margin longer.
 * 5. Reads: any Redis error or timeout (command timeout 50 ms) answers from SQL and opens a circuit
 *    breaker for a second, so a dead Redis costs no timeout per request. Flushed or restarted Redis
 *    only loses entries (and the epoch): misses go to SQL.
 * Assumptions: app instances' clocks agree within the margin (NTP); one Redis (not a cluster).
 */
import type {
  EventFactory,
  NewSession,
  RevokeReason,
  RotateInput,
  RotateResult,
  SessionRow,
  SessionStore,
  TokenRevokeResult,
} from "../../server/core/ports";
import { RedisConnection } from "../redis/connection";
import { runScript } from "./scripts";

export interface HybridOptions {
  /** redis://… (query `prefix` = key prefix, default "session-cache:"). */
  redisUrl: string;
  /** T: how long an entry may serve a copy of SQL state. */
  cacheTtlMs?: number;
  /** Added to T when an invalidation failed. */
  marginMs?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How long reads skip Redis after it failed. */
  breakerMs?: number;
}

export interface HybridStats {
  hits: number;
  misses: number;
  fills: number;
  /** Reads answered by SQL because Redis failed or the breaker was open. */
  fallbacks: number;
  invalidations: number;
  /** Invalidations that failed (each made its call wait T + margin). */
  failedInvalidations: number;
}

export const DEFAULT_CACHE_PREFIX = "session-cache:";

export function parseCacheUrl(text: string): { url: string; prefix: string } {
  const url = new URL(text);
  const prefix = url.searchParams.get("prefix") ?? DEFAULT_CACHE_PREFIX;
  url.searchParams.delete("prefix");
  return { url: url.toString(), prefix };
}

interface Affected {
  /** Token hashes no longer current: tok: deleted, dt: tombstone. */
  tokens: Set<string>;
  /** Ended sessions: sid: deleted, dead: tombstone. */
  sessions: Set<string>;
  /** Users whose every entry is void: uv: replaced. */
  users: Set<string>;
  /** Sessions still active whose row changed (rotation): sid: deleted only. */
  refreshed: Set<string>;
}

const newAffected = (): Affected => ({
  tokens: new Set(),
  sessions: new Set(),
  users: new Set(),
  refreshed: new Set(),
});

function endSession(into: Affected, row: SessionRow): void {
  into.sessions.add(row.sessionId);
  into.tokens.add(row.refreshTokenHash);
  if (row.previousTokenHash) into.tokens.add(row.previousTokenHash);
}

export class HybridStore implements SessionStore {
  private readonly counters: HybridStats = {
    hits: 0,
    misses: 0,
    fills: 0,
    fallbacks: 0,
    invalidations: 0,
    failedInvalidations: 0,
  };
  private readonly redis: RedisConnection;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly breakerMs: number;
  private downUntil = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly sql: SessionStore,
    options: HybridOptions,
  ) {
    const { url, prefix } = parseCacheUrl(options.redisUrl);
    this.prefix = prefix;
    this.ttlMs = options.cacheTtlMs ?? 2000;
    this.marginMs = options.marginMs ?? 250;
    this.breakerMs = options.breakerMs ?? 1000;
    this.redis = new RedisConnection(url, {
      connectTimeoutMs: options.connectTimeoutMs ?? 200,
      commandTimeoutMs: options.commandTimeoutMs ?? 50,
      reconnectPauseMs: 250,
    });
  }

  /** Resolves when the cache fills started so far have landed (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Cache counters (tests and metrics). */
  cacheStats(): HybridStats {
    return { ...this.counters };
  }

  // ---- the two cached reads ----

  findActiveByTokenHash(hash: string, now: number): Promise<SessionRow | null> {
    return this.cachedRead(
      "tok",
      hash,
      hash,
      now,
      () => this.sql.findActiveByTokenHash(hash, now),
      (row) => row.refreshTokenHash === hash,
    );
  }

  findActiveSession(sessionId: string, now: number): Promise<SessionRow | null> {
    return this.cachedRead(
      "sid",
      sessionId,
      "",
      now,
      () => this.sql.findActiveSession(sessionId, now),
      (row) => row.sessionId === sessionId,
    );
  }

  private async cachedRead(
    kind: "tok" | "sid",
    id: string,
    tokenHash: string,
    now: number,
    fromSql: () => Promise<SessionRow | null>,
    matches: (row: SessionRow) => boolean,
  ): Promise<SessionRow | null> {
    // Taken before anything is read: an entry copied from this read is valid until readStart + T.
    const readStart = Date.now();
    let epoch: string | null = null;
    if (readStart < this.downUntil) this.counters.fallbacks++;
    else {
      try {
        const reply = (await runScript(this.redis, "lookup", [this.prefix, kind, id, Bun.randomUUIDv7()])) as [
          number,
          string,
        ];
        if (Number(reply[0]) === 1) {
          const row = this.decode(reply[1], now);
          if (row && matches(row)) {
            this.counters.hits++;
            return row;
          }
        } else {
          epoch = String(reply[1]);
        }
        this.counters.misses++;
      } catch {
        this.counters.fallbacks++;
        this.redisFailed();
      }
    }
    const row = await fromSql();
    if (row && epoch !== null) this.fill(kind, id, tokenHash, epoch, row, readStart, now);
    return row;
  }

  /** The row of an entry, when it is still within its validUntil and active at `now`. */
  private decode(value: string, now: number): SessionRow | null {
    const first = value.indexOf("\n");
    const second = value.indexOf("\n", first + 1);
    const third = value.indexOf("\n", second + 1);
    if (first < 0 || second < 0 || third < 0) return null;
    const validUntil = Number(value.slice(second + 1, third));
    if (!(validUntil > Date.now())) return null;
    try {
      const row = JSON.parse(value.slice(third + 1)) as SessionRow;
      return row.revokedAt === null && row.expiresAt > now ? row : null;
    } catch {
      return null;
    }
  }

  private fill(
    kind: string,
    id: string,
    tokenHash: string,
    epoch: string,
    row: SessionRow,
    readStart: number,
    now: number,
  ): void {
    const validUntil = readStart + this.ttlMs;
    const px = Math.min(validUntil - Date.now(), row.expiresAt - now);
    if (px < 1 || row.revokedAt !== null) return;
    const args = [
      this.prefix,
      kind,
      id,
      epoch,
      row.sessionId,
      row.userId,
      tokenHash,
      String(validUntil),
      String(Math.ceil(px)),
      JSON.stringify(row),
    ];
    const job = runScript(this.redis, "fill", args).then(
      (set) => {
        if (Number(set) === 1) this.counters.fills++;
      },
      () => this.redisFailed(),
    );
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  private redisFailed(): void {
    this.downUntil = Date.now() + this.breakerMs;
  }

  // ---- invalidation ----

  /**
   * Runs `write` against SQL with an EventFactory that records every revoked row, then invalidates
   * what it touched (also when the write threw: it may have committed). When the invalidation
   * fails, waits T + margin before handing the result back.
   */
  private async invalidating<T>(
    events: EventFactory,
    before: Affected,
    write: (events: EventFactory) => Promise<T>,
    after: (result: T, affected: Affected) => void = () => {},
  ): Promise<T> {
    const affected = before;
    const recording: EventFactory = {
      created: (row) => events.created(row),
      revoked: (row) => {
        endSession(affected, row);
        return events.revoked(row);
      },
    };
    let result: T;
    try {
      result = await write(recording);
    } catch (error) {
      await this.invalidate(affected);
      throw error;
    }
    after(result, affected);
    if (!(await this.invalidate(affected))) await Bun.sleep(this.ttlMs + this.marginMs);
    return result;
  }

  /** true when Redis confirmed the invalidation (or there was nothing to do). */
  private async invalidate({ tokens, sessions, users, refreshed }: Affected): Promise<boolean> {
    if (tokens.size + sessions.size + users.size + refreshed.size === 0) return true;
    this.counters.invalidations++;
    try {
      await runScript(this.redis, "invalidate", [
        this.prefix,
        String(2 * this.ttlMs + this.marginMs),
        Bun.randomUUIDv7(),
        String(tokens.size),
        ...tokens,
        String(sessions.size),
        ...sessions,
        String(users.size),
        ...users,
        String(refreshed.size),
        ...refreshed,
      ]);
      return true;
    } catch {
      this.counters.failedInvalidations++;
      this.redisFailed();
      return false;
    }
  }

  private async activeOf(userId: string, now: number, into: Affected): Promise<void> {
    for (const row of await this.sql.listActiveSessions(userId, now)) endSession(into, row);
  }

  // ---- writes that end sessions or rotate tokens ----

  createSession(input: NewSession, events: EventFactory) {
    return this.invalidating(
      events,
      newAffected(),
      (recording) => this.sql.createSession(input, recording),
      (result, affected) => {
        for (const row of result?.evicted ?? []) endSession(affected, row);
      },
    );
  }

  rotate(input: RotateInput, events: EventFactory): Promise<RotateResult> {
    const affected = newAffected();
    // Whatever the outcome, the presented token must not stay cached as current.
    affected.tokens.add(input.presentedHash);
    return this.invalidating(
      events,
      affected,
      (recording) => this.sql.rotate(input, recording),
      (result, into) => {
        if (result.kind === "reuse_revoked") endSession(into, result.row);
        // Still active with new fields: drop its sid copy, without a session tombstone.
        if (result.kind === "rotated" || result.kind === "grace_replay") into.refreshed.add(result.row.sessionId);
      },
    );
  }

  revokeByTokenHash(hash: string, now: number, graceMs: number, events: EventFactory): Promise<TokenRevokeResult> {
    const affected = newAffected();
    affected.tokens.add(hash);
    return this.invalidating(events, affected, (recording) =>
      this.sql.revokeByTokenHash(hash, now, graceMs, recording),
    );
  }

  revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    const affected = newAffected();
    return this.invalidating(
      events,
      affected,
      (recording) => this.sql.revokeSession(sessionId, ownerUserId, reason, now, recording),
      (result, into) => {
        if (result) endSession(into, result.row);
      },
    );
  }

  async revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keepSessionId?: string,
  ) {
    const affected = newAffected();
    await this.activeOf(userId, now, affected).catch(() => {});
    // The user's version changes even with keep_current (the kept session merely misses once);
    // the kept session gets no tombstones, so it is cached again at once.
    affected.users.add(userId);
    if (keepSessionId) {
      affected.sessions.delete(keepSessionId);
      const kept = await this.sql.findSession(keepSessionId).catch(() => null);
      if (kept) {
        affected.tokens.delete(kept.refreshTokenHash);
        if (kept.previousTokenHash) affected.tokens.delete(kept.previousTokenHash);
      }
    }
    return this.invalidating(events, affected, (recording) =>
      this.sql.revokeUserSessions(userId, reason, now, recording, keepSessionId),
    );
  }

  async deleteUser(userId: string, now: number, events: EventFactory) {
    const affected = newAffected();
    await this.activeOf(userId, now, affected).catch(() => {});
    affected.users.add(userId);
    return this.invalidating(events, affected, (recording) => this.sql.deleteUser(userId, now, recording));
  }

  // ---- everything else: SQL ----

  findSession(sessionId: string) {
    return this.sql.findSession(sessionId);
  }
  isUserDeleted(userId: string) {
    return this.sql.isUserDeleted(userId);
  }
  listActiveSessions(userId: string, now: number) {
    return this.sql.listActiveSessions(userId, now);
  }
  listSessions(...args: Parameters<SessionStore["listSessions"]>) {
    return this.sql.listSessions(...args);
  }
  stats(now: number) {
    return this.sql.stats(now);
  }
  purge(endedBefore: number, batch: number, dryRun: boolean, now: number) {
    return this.sql.purge(endedBefore, batch, dryRun, now);
  }
  listSigningKeys() {
    return this.sql.listSigningKeys();
  }
  insertSigningKey(...args: Parameters<SessionStore["insertSigningKey"]>) {
    return this.sql.insertSigningKey(...args);
  }
  retireSigningKey(kid: string, now: number) {
    return this.sql.retireSigningKey(kid, now);
  }
  findServiceClientByHash(keyHash: string) {
    return this.sql.findServiceClientByHash(keyHash);
  }
  listServiceClients() {
    return this.sql.listServiceClients();
  }
  addServiceClient(...args: Parameters<SessionStore["addServiceClient"]>) {
    return this.sql.addServiceClient(...args);
  }
  removeServiceClient(name: string) {
    return this.sql.removeServiceClient(name);
  }
  acquireLease(name: string, owner: string, ttlMs: number, now: number) {
    return this.sql.acquireLease(name, owner, ttlMs, now);
  }
  releaseLease(name: string, owner: string) {
    return this.sql.releaseLease(name, owner);
  }
  pendingEvents(limit: number) {
    return this.sql.pendingEvents(limit);
  }
  markEventsSent(ids: string[], now: number) {
    return this.sql.markEventsSent(ids, now);
  }
  /** Readiness is the record's: the service answers from SQL while Redis is away. */
  checkWritable() {
    return this.sql.checkWritable();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.redis.close();
    await this.sql.close();
  }
}
