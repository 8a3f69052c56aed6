/**
 * The session aggregate on Redis: every change is one Lua script, which Redis runs alone, so the
 * change and the outbox rows it writes commit together. Lookups are by session id (the refresh
 * token names its session): no token index.
 *
 * Revocations never lose to rotations (issue 12, finding 3). Every revocation — one session, a
 * user's sessions, a deletion, the evictions of a create, the reuse revocation the core issues —
 * is one unconditional script that revokes whatever is active when it runs and writes each
 * revocation's outbox row itself: it chooses the event's id (event_id() in lua/prelude.lua, from
 * a seed this call passes and the session id) and stores the facts (the row as revoked). The
 * adapter then hands the core's EventFactory the same row and id (`events.revoked(row, id)`), and
 * the relay later gets the same document built from the stored facts (outbox.ts). No version, no
 * retry: a grace replay or rotation racing with the revocation runs before or after it, never
 * instead of it.
 *
 * Per-user cost is bounded by what the user holds now (finding 7): `ul:{user}`, the user's live set
 * (unrevoked sessions by last_used_at), is all that create, listActiveSessions and the user-wide
 * revocations read; a revocation takes the session out of it and ended members are dropped by the
 * scripts that write.
 *
 * Because the EventFactory runs in TypeScript after the script (a script cannot call it), a
 * factory that throws fails the call after the change and its outbox rows committed. A created
 * event's document is built by the core's pure builder before the script (it is the outbox row),
 * and reported through the factory with the same id only once the script created the session, so
 * a create refused for a deleted user reports nothing.
 */
import { ServiceError } from "../../server/core/errors";
import { outboxRecord, sessionCreatedEvent } from "../../server/core/events";
import type {
  ConditionalWrite,
  CreateResult,
  EventFactory,
  GraceReplay,
  ProofUse,
  RevokeReason,
  Rotation,
  SessionRepository,
  SessionRow,
} from "../../server/core/ports";
import { isActive } from "../../server/core/ports";
import { evictionVictims } from "../../server/core/session-rules";
import { decodeRow, decodeRows, encodeRow, eventArgs, optional } from "./codec";
import type { RedisConnection } from "./connection";
import type { Keys } from "./keys";
import type { Scripts } from "./scripts";

/**
 * Rounds of a create at the cap: another round only when concurrent creates of the same user
 * filled the places its victims freed. A lost round means another create of that user committed, so
 * N concurrent creates of one user need at most N rounds each.
 */
const MAX_CREATE_ROUNDS = 64;

const proofArgs = (proof: ProofUse | undefined) => (proof ? [proof.jti, proof.expiresAt] : ["", 0]);

export class RedisSessions implements SessionRepository {
  constructor(
    private readonly connection: RedisConnection,
    private readonly scripts: Scripts,
    private readonly keys: Keys,
    private readonly retentionMs: number,
  ) {}

  private run(name: Parameters<Scripts["run"]>[0], args: (string | number)[]) {
    return this.scripts.run(name, args) as Promise<unknown[]>;
  }

  /** Rows the script revoked, as {event id, row} pairs from `start`: handed to the factory with their ids. */
  private revoked(reply: unknown[], start: number, count: number, events: EventFactory): SessionRow[] {
    const rows: SessionRow[] = [];
    for (let i = 0; i < count; i++) {
      const row = decodeRow(reply[start + 2 * i + 1]);
      events.revoked(row, String(reply[start + 2 * i]));
      rows.push(row);
    }
    return rows;
  }

  async create(row: SessionRow, maxSessionsPerUser: number, events: EventFactory): Promise<CreateResult | null> {
    const createdId = Bun.randomUUIDv7();
    const created = eventArgs(outboxRecord(sessionCreatedEvent(createdId, row)));
    const seed = crypto.randomUUID();
    const evicted: SessionRow[] = [];
    let victims: string[] = [];
    for (let round = 0; round < MAX_CREATE_ROUNDS; round++) {
      const reply = await this.run("create", [
        row.createdAt,
        this.retentionMs,
        maxSessionsPerUser,
        seed,
        victims.length,
        ...victims,
        ...created,
        ...encodeRow(row),
      ]);
      if (reply[0] === "deleted") return null;
      const count = Number(reply[1]);
      evicted.push(...this.revoked(reply, 2, count, events));
      if (reply[0] === "ok") {
        events.created(row, createdId);
        return { row, evicted };
      }
      // "evict": the user is at the cap; the core picks the victims from the live rows.
      const live = decodeRows(reply.slice(2 + 2 * count));
      victims = evictionVictims(live, maxSessionsPerUser).map((victim) => victim.sessionId);
    }
    throw new ServiceError("unavailable");
  }

  async findSession(sessionId: string) {
    const flat = (await this.connection.send("HGETALL", [this.keys.session(sessionId)])) as Record<string, string>;
    return Object.keys(flat).length === 0 ? null : decodeRow(Object.entries(flat).flat());
  }

  async findActiveSession(sessionId: string, now: number) {
    const row = await this.findSession(sessionId);
    return row && isActive(row, now) ? row : null;
  }

  async listActiveSessions(userId: string, now: number) {
    return decodeRows(await this.run("live", [userId, now]));
  }

  private static written(reply: unknown[]): ConditionalWrite {
    if (reply[0] === "ok") return decodeRow(reply[1]);
    return reply[0] === "proof_replayed" ? "proof_replayed" : null;
  }

  async rotate(rotation: Rotation): Promise<ConditionalWrite> {
    const reply = await this.run("rotate", [
      rotation.sessionId,
      rotation.presentedHash,
      rotation.newHash,
      rotation.nonce,
      rotation.now,
      rotation.idleDeadline,
      rotation.accessExpiresAt,
      optional(rotation.userAgent),
      optional(rotation.ip),
      this.retentionMs,
      ...proofArgs(rotation.proof),
    ]);
    return RedisSessions.written(reply);
  }

  async replayGrace(replay: GraceReplay): Promise<ConditionalWrite> {
    const reply = await this.run("replay_grace", [
      replay.sessionId,
      replay.presentedHash,
      replay.graceStart,
      replay.now,
      replay.accessExpiresAt,
      optional(replay.userAgent),
      optional(replay.ip),
      ...proofArgs(replay.proof),
    ]);
    return RedisSessions.written(reply);
  }

  async revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    const reply = await this.run("revoke_one", [
      sessionId,
      optional(ownerUserId),
      now,
      reason,
      this.retentionMs,
      crypto.randomUUID(),
    ]);
    if (reply[0] === "none") return null;
    if (reply[0] === "unchanged") return { row: decodeRow(reply[1]), changed: false };
    return { row: this.revoked(reply, 1, 1, events)[0]!, changed: true };
  }

  /** The user's active sessions but `keep` revoked in one script, optionally with the deletion mark. */
  private async revokeAllOf(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keep: string | undefined,
    markDeleted: boolean,
  ): Promise<number> {
    const reply = await this.run("revoke_user", [
      userId,
      now,
      reason,
      this.retentionMs,
      optional(keep),
      markDeleted ? "1" : "0",
      crypto.randomUUID(),
    ]);
    return this.revoked(reply, 1, Number(reply[0]), events).length;
  }

  revokeUserSessions(userId: string, reason: RevokeReason, now: number, events: EventFactory, keepSessionId?: string) {
    return this.revokeAllOf(userId, reason, now, events, keepSessionId, false);
  }

  deleteUser(userId: string, now: number, events: EventFactory) {
    return this.revokeAllOf(userId, "user_deleted", now, events, undefined, true);
  }

  async renameSession(sessionId: string, ownerUserId: string, name: string | null, now: number) {
    const reply = await this.run("rename", [sessionId, ownerUserId, optional(name), now]);
    return reply.length === 0 ? null : decodeRow(reply);
  }
}
