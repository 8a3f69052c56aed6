/** The session aggregate on SQLite: each change one synchronous transaction with its outbox rows. */
import type {
  ConditionalWrite,
  EventFactory,
  GraceReplay,
  ProofUse,
  RevokeReason,
  Rotation,
  SessionRepository,
  SessionRow,
} from "../../server/core/ports";
import { evictionVictims } from "../../server/core/session-rules";
import type { SqliteDatabase } from "./database";
import { emit } from "./outbox";
import type { Queries } from "./queries";

/** Thrown inside a transaction to undo it: the proof's jti was used before. */
class ProofReplayed extends Error {}

export class SqliteSessions implements SessionRepository {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly q: Queries,
  ) {}

  private revokeRow(
    sessionId: string,
    owner: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ): SessionRow | null {
    const row = this.q.revoke.get({ id: sessionId, owner, reason, now });
    if (row) emit(this.q, events.revoked(row));
    return row;
  }

  /** Records the proof's jti with the change, or undoes the change when it was used before. */
  private async withProof(proof: ProofUse | undefined, change: () => SessionRow | null): Promise<ConditionalWrite> {
    try {
      return await this.database.write(() => {
        const row = change();
        if (row && proof && !this.q.rememberProof.get(proof)) throw new ProofReplayed();
        return row;
      });
    } catch (error) {
      if (error instanceof ProofReplayed) return "proof_replayed";
      throw error;
    }
  }

  create(row: SessionRow, maxSessionsPerUser: number, events: EventFactory) {
    return this.database.write(() => {
      if (this.q.isDeleted.get({ userId: row.userId })) return null;
      const live = maxSessionsPerUser > 0 ? this.q.activeOfUser.all({ userId: row.userId, now: row.createdAt }) : [];
      const evicted: SessionRow[] = [];
      for (const victim of evictionVictims(live, maxSessionsPerUser)) {
        const revoked = this.revokeRow(victim.sessionId, null, "session_limit", row.createdAt, events);
        if (revoked) evicted.push(revoked);
      }
      this.q.insert.run(row);
      emit(this.q, events.created(row));
      return { row, evicted };
    });
  }

  async findSession(sessionId: string) {
    return this.database.read(() => this.q.byId.get({ id: sessionId }));
  }

  async findActiveSession(sessionId: string, now: number) {
    return this.database.read(() => this.q.activeById.get({ id: sessionId, now }));
  }

  async listActiveSessions(userId: string, now: number) {
    return this.database.read(() => this.q.activeOfUser.all({ userId, now }));
  }

  rotate({ proof, userAgent, ip, ...rotation }: Rotation) {
    return this.withProof(proof, () =>
      this.q.rotate.get({ ...rotation, userAgent: userAgent ?? null, ip: ip ?? null }),
    );
  }

  replayGrace({ proof, userAgent, ip, ...replay }: GraceReplay) {
    return this.withProof(proof, () =>
      this.q.replayGrace.get({ ...replay, userAgent: userAgent ?? null, ip: ip ?? null }),
    );
  }

  revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ) {
    return this.database.write(() => {
      const revoked = this.revokeRow(sessionId, ownerUserId, reason, now, events);
      if (revoked) return { row: revoked, changed: true };
      // Nothing changed: the session is unknown, someone else's, or already ended (its row as it is).
      const row = this.q.byId.get({ id: sessionId });
      if (!row || (ownerUserId !== null && row.userId !== ownerUserId)) return null;
      return { row, changed: false };
    });
  }

  private revokeAllOf(userId: string, reason: RevokeReason, now: number, events: EventFactory, keep?: string): number {
    const rows = this.q.revokeOfUser.all({ userId, reason, now, keep: keep ?? null });
    for (const row of rows) emit(this.q, events.revoked(row));
    return rows.length;
  }

  revokeUserSessions(userId: string, reason: RevokeReason, now: number, events: EventFactory, keepSessionId?: string) {
    return this.database.write(() => this.revokeAllOf(userId, reason, now, events, keepSessionId));
  }

  deleteUser(userId: string, now: number, events: EventFactory) {
    return this.database.write(() => {
      this.q.markDeleted.run({ userId, now });
      return this.revokeAllOf(userId, "user_deleted", now, events);
    });
  }

  renameSession(sessionId: string, ownerUserId: string, name: string | null, now: number) {
    return this.database.write(() => this.q.rename.get({ id: sessionId, userId: ownerUserId, name, now }));
  }
}
