/**
 * SessionStore on Redis (DATABASE_URL=redis://… or rediss://…), with the semantics of
 * db/sqlite/store.ts, on Bun's built-in RedisClient.
 *
 * Layout (every key under a prefix, default "sessions:"; lua/prelude.lua builds the names):
 *   s:{id}          hash, one session: every SessionRow column under its SQL name; null = absent field
 *   s:{id}:r        set, the session's retired token hashes (so purge can delete their index keys)
 *   t:{hash}        current refresh-token hash → session id
 *   p:{hash}        previous (most recently rotated) token hash → session id, for the grace window
 *   r:{hash}        retired token hash → session id, for reuse detection
 *   u:{user}        sorted set, the user's session ids by last_used_at (LRU eviction, /session/me)
 *   uv:{user}       the user's version, moved by every change to the user's sessions (see below)
 *   ud:{user}       deleted-user mark (deleted_at); never expires
 *   all             sorted set, every session id by created_at (listings, stats)
 *   end             sorted set, every session id by its end: revoked_at, else expires_at (purge)
 *   ob:seq          outbox sequence (INCR); ob:e:{id} hash {seq, subject, payload, created_at, sent_at}
 *   ob:q / ob:age   unsent event ids by seq (commit order) / by created_at (oldest pending)
 *   ob:sent         relayed event ids by sent_at (purge)
 *   keys, keys:retired          signing keys: kid → row JSON; kid → retired_at
 *   clients, clients:h          service clients: name → row JSON; key hash → row JSON
 *   lease:{name}    hash {owner, expires_at}
 *   layout          data layout version ("1"); a different one refuses to start
 *
 * Atomicity: every state change is ONE Lua script (EVALSHA, loaded on NOSCRIPT; scripts.ts), so
 * the change and the outbox rows of its events commit together or not at all. Redis runs one
 * script at a time, which makes the rotation's compare-and-swap (t:{hash} still names the session)
 * race-free: of N concurrent refreshes with one token exactly one rotates, the others find the
 * token in p:{hash} and replay.
 *
 * Events: the core's EventFactory builds them (ids, times and the exact CloudEvents document), and
 * it runs in TypeScript, not inside a script. Changes whose events need stored data (the row as
 * revoked: its user and latest access-token expiry) are therefore optimistic, like WATCH/MULTI but
 * in one round trip each: a script answers "need" with the rows and the user's version, the store
 * builds the events from those rows, and a second script applies the change with the events only
 * if the user's version is unchanged, else it answers "need" again and the store retries.
 * The version moves on every change to any session of the user (create, rotate, grace replay,
 * revoke, deletion mark), so equal versions mean the rows the events were built from are exactly
 * the rows revoked. A factory that throws leaves nothing written. Creates that evict nobody and
 * rotations commit in one script call. The eviction, the deletion mark and the deleted-user check
 * all run inside those scripts, so a deletion racing with creates leaves no active session.
 *
 * Expiry: all keys of a session carry a TTL of its end (the earlier deadline, or the revocation)
 * plus a retention (default 30 d, `?retention=` in the URL), moved on every rotation and
 * revocation. Redis thus deletes ended sessions on its own, as `sessionctl purge --older-than`
 * the retention would; until then they stay listable, countable, and idempotently revocable, as in
 * SQL. TTLs are computed from the caller's `now`, not the Redis clock. Index entries (all, end,
 * u:{user}) of expired sessions are dropped lazily: by creates (bounded), listings and purge.
 * README-redis.md lists what differs from the SQL stores and how Redis must be configured.
 *
 * Files: lua/*.lua (the scripts) run by scripts.ts; codec.ts (row ↔ hash); connection.ts
 * (timeouts, reconnects) and errors.ts (what is "unavailable"); registry.ts (signing keys,
 * clients, leases); server-checks.ts (layout version, eviction policy); options.ts (the URL).
 */

import { ServiceError } from "../../server/core/errors";
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
  SessionStatus,
  SessionStore,
  SigningKeyRow,
  StoreStats,
  TokenRevokeResult,
} from "../../server/core/ports";
import { sessionStatus } from "../../server/core/ports";
import { decodeEvent, decodeRow, decodeRows, encodeRow, eventArgs, optional } from "./codec";
import { RedisConnection } from "./connection";
import { type Keys, keysOf } from "./keys";
import { parseRedisUrl } from "./options";
import { RedisRegistry } from "./registry";
import { Scripts } from "./scripts";
import { checkServer } from "./server-checks";

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL, optionally with ?prefix=…&retention=… (options.ts). */
  url: string;
  connectTimeoutMs?: number;
  /** A command without an answer after this long is "unavailable". */
  commandTimeoutMs?: number;
}

/** Optimistic rounds before giving up with "unavailable"; each round some contender commits. */
const MAX_ROUNDS = 64;
const PAGE = 1000;

/** Reply of an optimistic script that wants the events built on this version first. */
const RETRY = Symbol("retry");

const isActive = (row: SessionRow, now: number) => row.revokedAt === null && row.expiresAt > now;
const revokedRow = (row: SessionRow, reason: RevokeReason, now: number): SessionRow => ({
  ...row,
  revokedAt: now,
  revokeReason: reason,
});

/** /session/me order: most recently used first. */
const byRecentUse = (a: SessionRow, b: SessionRow) =>
  b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt || (a.sessionId < b.sessionId ? 1 : -1);
/** Listing order: newest first. */
const byNewest = (a: SessionRow, b: SessionRow) => b.createdAt - a.createdAt || (a.sessionId < b.sessionId ? 1 : -1);

export class RedisStore implements SessionStore {
  private readonly scripts: Scripts;
  private readonly keys: Keys;
  private readonly registry: RedisRegistry;

  private constructor(
    private readonly connection: RedisConnection,
    prefix: string,
    private readonly retentionMs: number,
  ) {
    this.scripts = new Scripts(connection, prefix);
    this.keys = keysOf(prefix);
    this.registry = new RedisRegistry(connection, this.scripts, this.keys);
  }

  /** Connects and checks the server (server-checks.ts); fails, without retrying, when Redis cannot be reached. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const { url, prefix, retentionMs } = parseRedisUrl(options.url);
    const connection = new RedisConnection(url, {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
      reconnectPauseMs: 250,
    });
    const store = new RedisStore(connection, prefix, retentionMs);
    try {
      await connection.connect();
      await checkServer(connection, store.keys);
    } catch (error) {
      connection.close();
      throw error;
    }
    return store;
  }

  private run(name: Parameters<Scripts["run"]>[0], args: (string | number)[]) {
    return this.scripts.run(name, args) as Promise<unknown[]>;
  }

  /** Repeats an optimistic step until it commits (see the top of this file). */
  private async optimistic<T>(step: () => Promise<T | typeof RETRY>): Promise<T> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const result = await step();
      if (result !== RETRY) return result;
      // The first retries go straight back; under heavy contention spread the contenders out.
      if (round >= 2) await Bun.sleep(Math.random() * Math.min(2 ** (round - 2), 25));
    }
    throw new ServiceError("unavailable");
  }

  async createSession({ row, maxSessionsPerUser }: NewSession, events: EventFactory) {
    const created = events.created(row);
    let expected = "";
    let victims: SessionRow[] = [];
    let victimEvents: CloudEvent[] = [];
    return this.optimistic(async () => {
      const reply = await this.run("create", [
        row.createdAt,
        this.retentionMs,
        maxSessionsPerUser,
        expected,
        victims.length,
        ...victims.map((v) => v.sessionId),
        ...eventArgs([...victimEvents, created]),
        ...encodeRow(row),
      ]);
      if (reply[0] === "deleted") return null;
      if (reply[0] === "ok") return { row, evicted: victims };
      // "evict": the cap is reached; choose the least recently used on this version and try again.
      const live = decodeRows(reply.slice(2)).sort(byRecentUse);
      victims = live
        .slice(maxSessionsPerUser - 1)
        .reverse()
        .map((r) => revokedRow(r, "session_limit", row.createdAt));
      victimEvents = victims.map((v) => events.revoked(v));
      expected = victims.length > 0 ? String(reply[1]) : "";
      return RETRY;
    });
  }

  async rotate(input: RotateInput, events: EventFactory): Promise<RotateResult> {
    return this.optimistic(async (): Promise<RotateResult | typeof RETRY> => {
      const reply = await this.run("rotate", [
        input.presentedHash,
        input.newHash,
        input.nonce,
        input.now,
        input.now + input.idleTimeoutMs,
        input.accessExpiresAt,
        optional(input.userAgent),
        optional(input.ip),
        input.now - input.graceMs,
        this.retentionMs,
      ]);
      switch (reply[0]) {
        case "rotated":
          return { kind: "rotated", row: decodeRow(reply[1]) };
        case "grace":
          return { kind: "grace_replay", row: decodeRow(reply[1]) };
        case "expired":
          return { kind: "expired" };
        case "reuse": {
          // A retired token of an active session: revoke it, if nothing changed since the lookup.
          const revoked = await this.revokeOnVersion(
            decodeRow(reply[2]),
            "refresh_token_reuse",
            input.now,
            String(reply[1]),
            events,
          );
          return revoked ? { kind: "reuse_revoked", row: revoked } : RETRY;
        }
        default:
          return { kind: "invalid" };
      }
    });
  }

  /** One revocation with its event, applied only on `version`; null when the version moved. */
  private async revokeOnVersion(
    row: SessionRow,
    reason: RevokeReason,
    now: number,
    version: string,
    events: EventFactory,
  ) {
    const event = events.revoked(revokedRow(row, reason, now));
    const reply = await this.run("revoke_one", [
      row.sessionId,
      "",
      now,
      reason,
      this.retentionMs,
      version,
      ...eventArgs([event]),
    ]);
    return reply[0] === "revoked" ? decodeRow(reply[1]) : null;
  }

  async findActiveByTokenHash(hash: string, now: number) {
    const reply = await this.run("by_token", [hash]);
    if (reply.length === 0) return null;
    const row = decodeRow(reply);
    return isActive(row, now) ? row : null;
  }

  async revokeByTokenHash(
    hash: string,
    now: number,
    graceMs: number,
    events: EventFactory,
  ): Promise<TokenRevokeResult> {
    return this.optimistic(async () => {
      const reply = await this.run("token_lookup", [hash, now - graceMs]);
      if (reply[0] === "unknown") return "unknown";
      const reason = reply[0] as "logout" | "refresh_token_reuse";
      const row = decodeRow(reply[2]);
      if (!isActive(row, now)) return reason;
      return (await this.revokeOnVersion(row, reason, now, String(reply[1]), events)) ? reason : RETRY;
    });
  }

  async findSession(sessionId: string) {
    const flat = (await this.connection.send("HGETALL", [this.keys.session(sessionId)])) as Record<string, string>;
    return Object.keys(flat).length === 0 ? null : decodeRow(Object.entries(flat).flat());
  }

  async findActiveSession(sessionId: string, now: number) {
    const row = await this.findSession(sessionId);
    return row && isActive(row, now) ? row : null;
  }

  async revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    let expected = "";
    let event: CloudEvent[] = [];
    return this.optimistic(async () => {
      const reply = await this.run("revoke_one", [
        sessionId,
        optional(ownerUserId),
        now,
        reason,
        this.retentionMs,
        expected,
        ...eventArgs(event),
      ]);
      switch (reply[0]) {
        case "none":
          return null;
        case "unchanged":
          return { row: decodeRow(reply[1]), changed: false };
        case "revoked":
          return { row: decodeRow(reply[1]), changed: true };
        default:
          expected = String(reply[1]);
          event = [events.revoked(revokedRow(decodeRow(reply[2]), reason, now))];
          return RETRY;
      }
    });
  }

  /** Revokes the user's active sessions (but `keep`), optionally marking the user deleted. */
  private revokeAllOf(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keep: string | undefined,
    markDeleted: boolean,
  ) {
    let expected = "";
    let revokedEvents: CloudEvent[] = [];
    return this.optimistic(async () => {
      const reply = await this.run("revoke_user", [
        userId,
        now,
        reason,
        this.retentionMs,
        optional(keep),
        markDeleted ? "1" : "0",
        expected,
        ...eventArgs(revokedEvents),
      ]);
      if (reply[0] === "done") return Number(reply[1]);
      expected = String(reply[1]);
      revokedEvents = decodeRows(reply.slice(2)).map((r) => events.revoked(revokedRow(r, reason, now)));
      return RETRY;
    });
  }

  async revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keepSessionId?: string,
  ) {
    return this.revokeAllOf(userId, reason, now, events, keepSessionId, false);
  }

  async deleteUser(userId: string, now: number, events: EventFactory) {
    return this.revokeAllOf(userId, "user_deleted", now, events, undefined, true);
  }

  async isUserDeleted(userId: string) {
    return (await this.connection.send("EXISTS", [this.keys.deletedUser(userId)])) === 1;
  }

  private async userRows(userId: string): Promise<SessionRow[]> {
    return decodeRows(await this.run("user_rows", [userId]));
  }

  async listActiveSessions(userId: string, now: number) {
    return (await this.userRows(userId)).filter((r) => isActive(r, now)).sort(byRecentUse);
  }

  async listSessions(filter: SessionFilter, now: number) {
    const limit = filter.limit ?? 100;
    const wanted = (row: SessionRow) =>
      !filter.status || filter.status === "all" || sessionStatus(row, now) === filter.status;
    if (filter.userId !== undefined)
      return (await this.userRows(filter.userId)).filter(wanted).sort(byNewest).slice(0, limit);
    // Newest first, page by page; a session created meanwhile may shift a page, hence the id set.
    const seen = new Set<string>();
    const out: SessionRow[] = [];
    for (let start = 0; out.length < limit; start += PAGE) {
      const reply = await this.run("page", [start, start + PAGE - 1]);
      for (const row of decodeRows(reply.slice(1))) {
        if (!seen.has(row.sessionId) && wanted(row)) out.push(row);
        seen.add(row.sessionId);
      }
      if (Number(reply[0]) < PAGE) break;
    }
    return out.sort(byNewest).slice(0, limit);
  }

  /** Counts page by page: under concurrent writes the figures are close, not a snapshot. */
  async stats(now: number): Promise<StoreStats> {
    const sessions: Record<SessionStatus, number> = { active: 0, revoked: 0, expired: 0 };
    const users = new Set<string>();
    for (let start = 0; ; start += PAGE) {
      const reply = await this.run("stats_page", [start, start + PAGE - 1, now]);
      sessions.active += Number(reply[1]);
      sessions.revoked += Number(reply[2]);
      sessions.expired += Number(reply[3]);
      for (const user of reply.slice(4)) users.add(String(user));
      if (Number(reply[0]) < PAGE) break;
    }
    const [pending, oldest] = await this.run("backlog", []);
    return {
      sessions,
      users: users.size,
      events: {
        pending: Number(pending),
        oldestPendingCreatedAt: oldest === undefined || oldest === null ? null : Number(oldest),
      },
    };
  }

  async purge(endedBefore: number, batch: number, dryRun: boolean, now: number): Promise<PurgeResult> {
    if (!dryRun) {
      const [sessions, events] = await this.run("purge", [endedBefore, now, batch]);
      return { sessions: Number(sessions), events: Number(events) };
    }
    let sessions = 0;
    for (let offset = 0; ; offset += PAGE) {
      const [seen, matched] = await this.run("purge_count", [endedBefore, now, offset, PAGE]);
      sessions += Number(matched);
      if (Number(seen) < PAGE) break;
    }
    const events = Number(await this.connection.send("ZCOUNT", [this.keys.sent, "-inf", String(endedBefore)]));
    return { sessions, events };
  }

  // Signing keys, service clients and leases: registry.ts.
  listSigningKeys = () => this.registry.listSigningKeys();
  insertSigningKey = (row: SigningKeyRow) => this.registry.insertSigningKey(row);
  retireSigningKey = (kid: string, now: number) => this.registry.retireSigningKey(kid, now);
  findServiceClientByHash = (keyHash: string) => this.registry.findServiceClientByHash(keyHash);
  listServiceClients = () => this.registry.listServiceClients();
  addServiceClient = (row: ServiceClientRow) => this.registry.addServiceClient(row);
  removeServiceClient = (name: string) => this.registry.removeServiceClient(name);
  acquireLease = (name: string, owner: string, ttlMs: number, now: number) =>
    this.registry.acquireLease(name, owner, ttlMs, now);
  releaseLease = (name: string, owner: string) => this.registry.releaseLease(name, owner);

  async pendingEvents(limit: number): Promise<OutboxRow[]> {
    if (limit <= 0) return [];
    return (await this.run("pending", [limit])).map(decodeEvent);
  }

  async markEventsSent(ids: string[], now: number) {
    if (ids.length === 0) return;
    await this.run("mark_sent", [now, this.retentionMs, ...ids]);
  }

  async checkWritable() {
    // A write with a short life: fails on a read-only replica and when out of memory (noeviction).
    await this.connection.send("SET", [this.keys.probe, "1", "PX", "10000"]);
  }

  async close() {
    this.connection.close();
  }
}
