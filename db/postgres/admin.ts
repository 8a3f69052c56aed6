/** Operator views and housekeeping on PostgreSQL, over the conditions both SQL stores share (db/sql). */
import { count, countDistinct, inArray, isNull, lt, min } from "drizzle-orm";
import type { PurgeCutoffs, PurgeResult, SessionFilter, StoreAdmin, StoreStats } from "../../server/core/ports";
import { activeAt, listed, newestFirst, purgeable, relayedBefore, statusCounts } from "../sql/conditions";
import type { PostgresDatabase } from "./database";
import { dpopProofs, outbox, sessions } from "./schema";

export class PostgresAdmin implements StoreAdmin {
  constructor(private readonly database: PostgresDatabase) {}

  async listSessions(filter: SessionFilter, now: number) {
    const db = this.database.db;
    return this.database.statement(() =>
      db
        .select()
        .from(sessions)
        .where(listed(sessions, filter, now))
        .orderBy(...newestFirst(sessions))
        .limit(filter.limit ?? 100),
    );
  }

  async stats(now: number): Promise<StoreStats> {
    const db = this.database.db;
    return this.database.statement(async () => {
      const [[counts], [users], [pending]] = await Promise.all([
        db.select(statusCounts(sessions, now)).from(sessions),
        db
          .select({ n: countDistinct(sessions.userId) })
          .from(sessions)
          .where(activeAt(sessions, now)),
        db
          .select({ n: count(), oldest: min(outbox.createdAt) })
          .from(outbox)
          .where(isNull(outbox.sentAt)),
      ]);
      return {
        sessions: counts!,
        users: users!.n,
        events: { pending: pending!.n, oldestPendingCreatedAt: pending!.oldest ?? null },
      };
    });
  }

  async countPurgeable(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    const db = this.database.db;
    return this.database.statement(async () => {
      const [[ended], [relayed]] = await Promise.all([
        db.select({ n: count() }).from(sessions).where(purgeable(sessions, cutoffs)),
        db.select({ n: count() }).from(outbox).where(relayedBefore(outbox, cutoffs)),
      ]);
      return { sessions: ended!.n, events: relayed!.n };
    });
  }

  /**
   * Three single-statement deletes, each atomic by itself and bounded by `batch`, so the server's
   * writers wait for no long transaction (none of them needs the others to be in the same one).
   */
  async purge(cutoffs: PurgeCutoffs, batch: number): Promise<PurgeResult> {
    const db = this.database.db;
    return this.database.statement(async () => {
      const ended = db
        .select({ id: sessions.sessionId })
        .from(sessions)
        .where(purgeable(sessions, cutoffs))
        .limit(batch);
      const relayed = db.select({ seq: outbox.seq }).from(outbox).where(relayedBefore(outbox, cutoffs)).limit(batch);
      const [gone, sent] = await Promise.all([
        db.delete(sessions).where(inArray(sessions.sessionId, ended)).returning({ id: sessions.sessionId }),
        db.delete(outbox).where(inArray(outbox.seq, relayed)).returning({ seq: outbox.seq }),
        db.delete(dpopProofs).where(lt(dpopProofs.expiresAt, cutoffs.proofsBefore)),
      ]);
      return { sessions: gone.length, events: sent.length };
    });
  }
}
