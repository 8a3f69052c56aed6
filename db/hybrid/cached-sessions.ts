/**
 * The hybrid cache around the SQL store's `sessions` slice: the hot read findActiveSession (behind
 * validate and every access-token check) is answered from Redis when it can be; every write, and
 * every other read, goes to SQL unchanged.
 *
 * THE RULE: a revoked or rotated-away token is never accepted once the call that ended it returned,
 * whatever Redis does (slow, restarted, flushed, unreachable). How:
 *
 * 1. Entries. `sid:{sessionId}` holds an active row, written only after a miss read it from SQL.
 *    Each entry carries `validUntil` = (time the SQL read *started*) + T, checked by the reader on
 *    this process's clock, and a Redis TTL of at most T (capped at the row's expiresAt). So an entry
 *    never outlives T after the SQL state it copies — even when Redis applies the write late (a
 *    paused server runs queued commands after SIGCONT), loses TTLs, or clocks of Redis and this host
 *    differ. T = REDIS_CACHE_TTL, default 2 s.
 * 2. Invalidation. A write that ends sessions or rotates a token (create's evictions, rotate,
 *    revokeSession, revokeUserSessions, deleteUser) commits in SQL first, then ONE Lua script
 *    deletes the entries, sets the tombstone `dead:{id}` of each ended session and raises
 *    `gen:{id}` to the generation of each rotated one (TTL 2T + margin), and for user-wide writes
 *    replaces `uv:{userId}`. Ended sessions are known from the rows the SQL store passes to
 *    `events.revoked` inside its transaction (one per revoked session, by the outbox contract) and
 *    from the returned rows; the `uv:` value every entry records (compared on each hit) also voids
 *    entries of sessions nobody enumerated.
 * 3. Races. A reader that read SQL before the commit may write its entry after the invalidation:
 *    the fill script refuses when the session's tombstone exists, when the row's generation is
 *    older than `gen:{id}` (it holds a rotated-away token), and when the epoch key `ep` changed
 *    since the reader's lookup (FLUSHALL or a restart between lookup and fill wipes tombstones: the
 *    epoch goes with them). Tombstones live 2T + margin, longer than any such copy could be valid.
 * 4. Redis failing during invalidation (error or timeout): the SQL write stands (it is the record)
 *    but the call waits T + margin BEFORE returning. By then every entry copied from pre-commit SQL
 *    state has passed its validUntil (rule 1), so nobody hears "logged out" while a stale positive
 *    entry could still be served — on any instance. Cost: a logout or refresh during a Redis
 *    outage takes T + margin longer.
 * 5. Reads: any Redis error or timeout (command timeout 50 ms) answers from SQL and opens a circuit
 *    breaker for a second, so a dead Redis costs no timeout per request. Flushed or restarted Redis
 *    only loses entries (and the epoch): misses go to SQL.
 * A grace replay and a rename change nothing a cached copy is used for (the session stays active
 * with the same current token), so they are not invalidated; an entry shows them within T.
 * Assumptions: app instances' clocks agree within the margin (NTP); one Redis (not a cluster).
 */
import type {
  CreateResult,
  EventFactory,
  GraceReplay,
  RevokeReason,
  Rotation,
  SessionRepository,
  SessionRow,
} from "../../server/core/ports";
import { isActive } from "../../server/core/ports";
import type { RedisConnection } from "../redis/connection";
import { runScript } from "./scripts";

export interface CacheSettings {
  prefix: string;
  /** T: how long an entry may serve a copy of SQL state. */
  ttlMs: number;
  /** Added to T when an invalidation failed. */
  marginMs: number;
  /** How long reads skip Redis after it failed. */
  breakerMs: number;
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

interface Affected {
  /** Ended sessions: sid: deleted, dead: tombstone. */
  ended: Set<string>;
  /** Users whose every entry is void: uv: replaced. */
  users: Set<string>;
  /** Rotated sessions (still active): sid: deleted, gen: raised to the generation. */
  rotated: Map<string, number>;
}

const newAffected = (): Affected => ({ ended: new Set(), users: new Set(), rotated: new Map() });

export class CachedSessions implements SessionRepository {
  private readonly counters: HybridStats = {
    hits: 0,
    misses: 0,
    fills: 0,
    fallbacks: 0,
    invalidations: 0,
    failedInvalidations: 0,
  };
  private downUntil = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly sql: SessionRepository,
    private readonly redis: RedisConnection,
    private readonly settings: CacheSettings,
  ) {}

  /** Resolves when the cache fills started so far have landed (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Cache counters (tests and metrics). */
  cacheStats(): HybridStats {
    return { ...this.counters };
  }

  // ---- the cached read ----

  async findActiveSession(sessionId: string, now: number): Promise<SessionRow | null> {
    // Taken before anything is read: an entry copied from this read is valid until readStart + T.
    const readStart = Date.now();
    let epoch: string | null = null;
    if (readStart < this.downUntil) this.counters.fallbacks++;
    else {
      try {
        const reply = (await runScript(this.redis, "lookup", [
          this.settings.prefix,
          sessionId,
          Bun.randomUUIDv7(),
        ])) as [number, string];
        if (Number(reply[0]) === 1) {
          const row = this.decode(reply[1], now);
          if (row && row.sessionId === sessionId) {
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
    const row = await this.sql.findActiveSession(sessionId, now);
    if (row && epoch !== null) this.fill(epoch, row, readStart, now);
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
      return isActive(row, now) ? row : null;
    } catch {
      return null;
    }
  }

  private fill(epoch: string, row: SessionRow, readStart: number, now: number): void {
    const validUntil = readStart + this.settings.ttlMs;
    const px = Math.min(validUntil - Date.now(), row.expiresAt - now);
    if (px < 1 || row.revokedAt !== null) return;
    const args = [
      this.settings.prefix,
      row.sessionId,
      epoch,
      row.userId,
      String(row.rotationCount),
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
    this.downUntil = Date.now() + this.settings.breakerMs;
  }

  // ---- invalidation ----

  /** The factory handed to SQL: every row it revokes (inside its transaction) ends up in `affected`. */
  private static recording(events: EventFactory, affected: Affected): EventFactory {
    return {
      created: (row) => events.created(row),
      revoked: (row, id) => {
        affected.ended.add(row.sessionId);
        return events.revoked(row, id);
      },
    };
  }

  /**
   * Runs `write` against SQL, then invalidates what it touched (also when the write threw: it may
   * have committed). When the invalidation fails, waits T + margin before handing the result back.
   */
  private async invalidating<T>(
    affected: Affected,
    write: () => Promise<T>,
    after: (result: T) => void = () => {},
  ): Promise<T> {
    let result: T;
    try {
      result = await write();
    } catch (error) {
      await this.invalidate(affected);
      throw error;
    }
    after(result);
    if (!(await this.invalidate(affected))) await Bun.sleep(this.settings.ttlMs + this.settings.marginMs);
    return result;
  }

  /** true when Redis confirmed the invalidation (or there was nothing to do). */
  private async invalidate({ ended, users, rotated }: Affected): Promise<boolean> {
    if (ended.size + users.size + rotated.size === 0) return true;
    this.counters.invalidations++;
    try {
      await runScript(this.redis, "invalidate", [
        this.settings.prefix,
        String(2 * this.settings.ttlMs + this.settings.marginMs),
        Bun.randomUUIDv7(),
        String(ended.size),
        ...ended,
        String(users.size),
        ...users,
        String(rotated.size),
        ...[...rotated].flatMap(([id, generation]) => [id, String(generation)]),
      ]);
      return true;
    } catch {
      this.counters.failedInvalidations++;
      this.redisFailed();
      return false;
    }
  }

  // ---- writes that end sessions or rotate tokens ----

  create(row: SessionRow, maxSessionsPerUser: number, events: EventFactory): Promise<CreateResult | null> {
    const affected = newAffected();
    return this.invalidating(
      affected,
      () => this.sql.create(row, maxSessionsPerUser, CachedSessions.recording(events, affected)),
      (result) => {
        for (const victim of result?.evicted ?? []) affected.ended.add(victim.sessionId);
      },
    );
  }

  rotate(rotation: Rotation) {
    const affected = newAffected();
    return this.invalidating(
      affected,
      () => this.sql.rotate(rotation),
      (result) => {
        if (result !== null && result !== "proof_replayed")
          affected.rotated.set(result.sessionId, result.rotationCount);
      },
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
      affected,
      () => this.sql.revokeSession(sessionId, ownerUserId, reason, now, CachedSessions.recording(events, affected)),
      (result) => {
        if (result) affected.ended.add(result.row.sessionId);
      },
    );
  }

  revokeUserSessions(userId: string, reason: RevokeReason, now: number, events: EventFactory, keepSessionId?: string) {
    // The user's version changes even with keep_current: the kept session merely misses once.
    const affected = newAffected();
    affected.users.add(userId);
    const recording = CachedSessions.recording(events, affected);
    return this.invalidating(affected, () =>
      this.sql.revokeUserSessions(userId, reason, now, recording, keepSessionId),
    );
  }

  deleteUser(userId: string, now: number, events: EventFactory) {
    const affected = newAffected();
    affected.users.add(userId);
    const recording = CachedSessions.recording(events, affected);
    return this.invalidating(affected, () => this.sql.deleteUser(userId, now, recording));
  }

  // ---- everything else: SQL ----

  findSession(sessionId: string) {
    return this.sql.findSession(sessionId);
  }
  listActiveSessions(userId: string, now: number) {
    return this.sql.listActiveSessions(userId, now);
  }
  replayGrace(replay: GraceReplay) {
    return this.sql.replayGrace(replay);
  }
  renameSession(sessionId: string, ownerUserId: string, name: string | null, now: number) {
    return this.sql.renameSession(sessionId, ownerUserId, name, now);
  }
}
