/**
 * The session aggregate on PostgreSQL. A change that writes events is one READ COMMITTED
 * transaction with its outbox rows; a rotation, a grace replay and a rename are each a single
 * UPDATE … RETURNING in autocommit (with a DPoP proof's jti in the same statement). Statements of one transaction that do not
 * wait on each other's answer are sent together (Bun pipelines them on the transaction's
 * connection): the server still runs them one after the other, each with a snapshot taken when it
 * starts, so a statement after the per-user lock sees every commit made before the lock was granted.
 */
import type {
  ConditionalWrite,
  EventFactory,
  GraceReplay,
  RevokeReason,
  Rotation,
  SessionRepository,
  SessionRow,
} from "../../server/core/ports";
import { evictionVictims } from "../../server/core/session-rules";
import type { PostgresDatabase } from "./database";
import { isUniqueViolation } from "./errors";
import { emit } from "./outbox";
import { eventColumns, type Queries } from "./queries";

export class PostgresSessions implements SessionRepository {
  constructor(
    private readonly database: PostgresDatabase,
    private readonly q: Queries,
  ) {}

  private get pool() {
    return this.database.client;
  }

  /** A change with a proof: one statement (queries.ts `withProof`); a jti used before answers proof_replayed. */
  private async withProof(change: () => Promise<SessionRow | null>): Promise<ConditionalWrite> {
    try {
      return await this.database.statement(change);
    } catch (error) {
      if (isUniqueViolation(error, "dpop_proofs")) return "proof_replayed";
      throw error;
    }
  }

  create(row: SessionRow, maxSessionsPerUser: number, events: EventFactory) {
    const userId = row.userId;
    return this.database.transaction(async (tx) => {
      const [, state] = await Promise.all([
        this.q.lockUser.all(tx, { userId }),
        maxSessionsPerUser > 0
          ? this.q.userState.all(tx, { userId, now: row.createdAt })
          : this.q.isDeleted.all(tx, { userId }).then((marks) => [{ deleted: marks.length > 0, live: null }]),
      ]);
      if (state[0]?.deleted) return null;
      const live = state.flatMap((s) => (s.live ? [s.live] : []));
      const victims = evictionVictims(live, maxSessionsPerUser).map((victim) => victim.sessionId);
      const revoked =
        victims.length > 0
          ? await this.q.revokeEach.all(tx, { ids: victims, reason: "session_limit", now: row.createdAt })
          : [];
      // Least recently used first, as the core picked them; a victim that ended meanwhile is left out.
      const evicted = victims.flatMap((id) => revoked.filter((r) => r.sessionId === id));
      const written = [...evicted.map((r) => events.revoked(r)), events.created(row)];
      await this.q.insertWithEvents.all(tx, { ...row, ...eventColumns(written) });
      return { row, evicted };
    });
  }

  async findSession(sessionId: string) {
    return this.database.statement(() => this.q.byId.get(this.pool, { id: sessionId }));
  }

  async findActiveSession(sessionId: string, now: number) {
    return this.database.statement(() => this.q.activeById.get(this.pool, { id: sessionId, now }));
  }

  async listActiveSessions(userId: string, now: number) {
    return this.database.statement(() => this.q.activeOfUser.all(this.pool, { userId, now }));
  }

  rotate({ proof, ...rotation }: Rotation): Promise<ConditionalWrite> {
    if (!proof) return this.database.statement(() => this.q.rotate.get(this.pool, rotation));
    return this.withProof(() => this.q.rotateWithProof.get(this.pool, { ...rotation, ...proof }));
  }

  replayGrace({ proof, ...replay }: GraceReplay): Promise<ConditionalWrite> {
    if (!proof) return this.database.statement(() => this.q.replayGrace.get(this.pool, replay));
    return this.withProof(() => this.q.replayGraceWithProof.get(this.pool, { ...replay, ...proof }));
  }

  revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    return this.database.transaction(async (tx) => {
      const revoked = await this.q.revoke.get(tx, { id: sessionId, owner: ownerUserId, reason, now });
      if (revoked) {
        await emit(tx, [events.revoked(revoked)]);
        return { row: revoked, changed: true };
      }
      // Nothing changed: the session is unknown, someone else's, or already ended (its row as it is).
      const row = await this.q.byId.get(tx, { id: sessionId });
      if (!row || (ownerUserId !== null && row.userId !== ownerUserId)) return null;
      return { row, changed: false };
    });
  }

  revokeUserSessions(userId: string, reason: RevokeReason, now: number, events: EventFactory, keepSessionId?: string) {
    return this.database.transaction(async (tx) => {
      const [, rows] = await Promise.all([
        this.q.lockUser.all(tx, { userId }),
        this.q.revokeOfUser.all(tx, { userId, reason, now, keep: keepSessionId ?? null }),
      ]);
      await emit(
        tx,
        rows.map((r) => events.revoked(r)),
      );
      return rows.length;
    });
  }

  deleteUser(userId: string, now: number, events: EventFactory) {
    return this.database.transaction(async (tx) => {
      // Under the user lock, a create either committed before (and is revoked here) or sees the mark.
      const [, , rows] = await Promise.all([
        this.q.lockUser.all(tx, { userId }),
        this.q.markDeleted.all(tx, { userId, now }),
        this.q.revokeOfUser.all(tx, { userId, reason: "user_deleted", now, keep: null }),
      ]);
      await emit(
        tx,
        rows.map((r) => events.revoked(r)),
      );
      return rows.length;
    });
  }

  renameSession(sessionId: string, ownerUserId: string, name: string | null, now: number) {
    return this.database.statement(() =>
      this.q.rename.get(this.pool, { id: sessionId, userId: ownerUserId, name, now }),
    );
  }
}
