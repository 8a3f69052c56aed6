/**
 * Hot-path statements, built and prepared once. Each is a single statement that runs in
 * autocommit on the pool, so it is atomic by itself; statements that must share a transaction
 * with others are built on that transaction in store.ts (a prepared query is bound to the pool).
 */
import { and, asc, desc, eq, gt, gte, isNull, type Placeholder, sql } from "drizzle-orm";
import type { PgDb } from "./driver";
import { deletedUsers, outbox, retiredRefreshTokens, serviceClients, sessions } from "./schema";

const p = sql.placeholder;

/** Not revoked and before its deadline: the SQLite store's definition of active. */
export const active = (now: number | Placeholder) =>
  and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now as number));

export function prepareQueries(db: PgDb) {
  const now = p("now");

  // The compare-and-swap: only the request that still sees the presented hash as current wins.
  // A concurrent request blocks on the row lock, re-checks the WHERE on the committed row, finds
  // the hash gone and gets no row. The presented hash (now previous_token_hash) is retired in
  // the same statement, so a rotation never commits without its reuse record.
  const rotated = db.$with("rotated").as(
    db
      .update(sessions)
      .set({
        previousTokenHash: sql`${sessions.refreshTokenHash}`,
        refreshTokenHash: sql`${p("newHash")}`,
        rotationNonce: sql`${p("nonce")}`,
        rotatedAt: sql`${now}`,
        rotationCount: sql`${sessions.rotationCount} + 1`,
        lastUsedAt: sql`${now}`,
        expiresAt: sql`least(${sessions.absoluteExpiresAt}, ${p("idleDeadline")})`,
        accessExpiresAt: sql`greatest(${sessions.accessExpiresAt}, ${p("accessExpiresAt")})`,
        userAgent: sql`coalesce(${p("userAgent")}, ${sessions.userAgent})`,
        ip: sql`coalesce(${p("ip")}, ${sessions.ip})`,
      })
      .where(and(eq(sessions.refreshTokenHash, p("presentedHash")), active(now)))
      .returning(),
  );
  const retire = db.$with("retire").as(
    db
      .insert(retiredRefreshTokens)
      .select(
        db
          .select({
            tokenHash: sql<string>`${rotated.previousTokenHash}`.as("token_hash"),
            sessionId: rotated.sessionId,
          })
          .from(rotated),
      )
      .onConflictDoNothing(),
  );

  return {
    rotate: db.with(rotated, retire).select().from(rotated).prepare("rotate"),
    // Runs as its own statement after a lost compare-and-swap, so it sees the winner's commit.
    graceReplay: db
      .update(sessions)
      .set({
        accessExpiresAt: sql`greatest(${sessions.accessExpiresAt}, ${p("accessExpiresAt")})`,
        userAgent: sql`coalesce(${p("userAgent")}, ${sessions.userAgent})`,
        ip: sql`coalesce(${p("ip")}, ${sessions.ip})`,
      })
      .where(
        and(
          eq(sessions.previousTokenHash, p("presentedHash")),
          gte(sessions.rotatedAt, p("graceStart") as unknown as number),
          active(now),
        ),
      )
      .returning()
      .prepare("grace_replay"),
    activeByHash: db
      .select()
      .from(sessions)
      .where(and(eq(sessions.refreshTokenHash, p("hash")), active(now)))
      .prepare("active_by_hash"),
    sessionById: db
      .select()
      .from(sessions)
      .where(eq(sessions.sessionId, p("id")))
      .prepare("session_by_id"),
    activeById: db
      .select()
      .from(sessions)
      .where(and(eq(sessions.sessionId, p("id")), active(now)))
      .prepare("active_by_id"),
    activeOfUser: db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, p("userId")), active(now)))
      .orderBy(desc(sessions.lastUsedAt), desc(sessions.createdAt))
      .prepare("active_of_user"),
    isDeleted: db
      .select({ userId: deletedUsers.userId })
      .from(deletedUsers)
      .where(eq(deletedUsers.userId, p("userId")))
      .prepare("is_deleted"),
    clientByHash: db
      .select()
      .from(serviceClients)
      .where(eq(serviceClients.keyHash, p("hash")))
      .prepare("client_by_hash"),
    pendingEvents: db
      .select()
      .from(outbox)
      .where(isNull(outbox.sentAt))
      .orderBy(asc(outbox.seq))
      .limit(p("limit"))
      .prepare("pending_events"),
  };
}

export type Queries = ReturnType<typeof prepareQueries>;
