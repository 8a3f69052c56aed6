/** Operator views and housekeeping on SQLite, over the conditions both SQL stores share (db/sql). */
import { count, countDistinct, inArray, isNull, lt, min } from "drizzle-orm";
import type { PurgeCutoffs, PurgeResult, SessionFilter, StoreAdmin, StoreStats } from "../../server/core/ports";
import { activeAt, listed, newestFirst, purgeable, relayedBefore, statusCounts } from "../sql/conditions";
import type { SqliteDatabase } from "./database";
import { dpopProofs, outbox, sessions } from "./schema";

export class SqliteAdmin implements StoreAdmin {
  constructor(private readonly database: SqliteDatabase) {}

  async listSessions(filter: SessionFilter, now: number) {
    const db = this.database.db;
    return this.database.read(() =>
      db
        .select()
        .from(sessions)
        .where(listed(sessions, filter, now))
        .orderBy(...newestFirst(sessions))
        .limit(filter.limit ?? 100)
        .all(),
    );
  }

  async stats(now: number): Promise<StoreStats> {
    const db = this.database.db;
    return this.database.read(() => {
      const counts = db.select(statusCounts(sessions, now)).from(sessions).get()!;
      const users = db
        .select({ n: countDistinct(sessions.userId) })
        .from(sessions)
        .where(activeAt(sessions, now))
        .get()!.n;
      const pending = db
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

  async countPurgeable(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    const db = this.database.db;
    return this.database.read(() => ({
      sessions: db.select({ n: count() }).from(sessions).where(purgeable(sessions, cutoffs)).get()!.n,
      events: db.select({ n: count() }).from(outbox).where(relayedBefore(outbox, cutoffs)).get()!.n,
    }));
  }

  /** Small transactions, so the server's writers get the lock between two batches. */
  async purge(cutoffs: PurgeCutoffs, batch: number): Promise<PurgeResult> {
    const db = this.database.db;
    return this.database.write(() => {
      const ended = db
        .select({ id: sessions.sessionId })
        .from(sessions)
        .where(purgeable(sessions, cutoffs))
        .limit(batch);
      const gone = db
        .delete(sessions)
        .where(inArray(sessions.sessionId, ended))
        .returning({ id: sessions.sessionId })
        .all();
      const relayed = db.select({ seq: outbox.seq }).from(outbox).where(relayedBefore(outbox, cutoffs)).limit(batch);
      const sent = db.delete(outbox).where(inArray(outbox.seq, relayed)).returning({ seq: outbox.seq }).all();
      db.delete(dpopProofs).where(lt(dpopProofs.expiresAt, cutoffs.proofsBefore)).run();
      return { sessions: gone.length, events: sent.length };
    });
  }
}
