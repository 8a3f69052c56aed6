/**
 * The WHERE clauses and orders both SQL stores use, written once over Drizzle's dialect-neutral
 * condition builders: SQLite's and PostgreSQL's tables have the same column names, so the same
 * function serves either schema. These are the SQL form of the core's rules (server/core:
 * sessionStatus, purgeCutoffs): "active" is not revoked and before its deadline.
 */
import { type AnyColumn, and, desc, eq, gt, isNotNull, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { PurgeCutoffs, SessionFilter } from "../../server/core/ports";

export interface SessionColumns {
  sessionId: AnyColumn;
  userId: AnyColumn;
  createdAt: AnyColumn;
  expiresAt: AnyColumn;
  revokedAt: AnyColumn;
}

export interface OutboxColumns {
  sentAt: AnyColumn;
}

/** `now` may be a number or a placeholder of a prepared statement. */
type Time = number | SQL.Aliased | ReturnType<typeof sql.placeholder>;

export const activeAt = (t: SessionColumns, now: Time) => and(isNull(t.revokedAt), gt(t.expiresAt, now));

const expiredAt = (t: SessionColumns, now: number) => and(isNull(t.revokedAt), lte(t.expiresAt, now));

/** The sessions `sessionctl list` shows for a filter. */
export function listed(t: SessionColumns, filter: SessionFilter, now: number): SQL | undefined {
  const byStatus = {
    all: undefined,
    active: activeAt(t, now),
    revoked: isNotNull(t.revokedAt),
    expired: expiredAt(t, now),
  }[filter.status ?? "all"];
  return and(filter.userId !== undefined ? eq(t.userId, filter.userId) : undefined, byStatus);
}

/** Listing order: newest first. */
export const newestFirst = (t: SessionColumns) => [desc(t.createdAt), desc(t.sessionId)];

/** The counts of `stats` by status, as one row of one scan. */
export const statusCounts = (t: SessionColumns, now: number) => {
  const countWhere = (where: SQL | undefined) => sql<number>`count(*) filter (where ${where})`.mapWith(Number);
  return {
    active: countWhere(activeAt(t, now)),
    revoked: countWhere(isNotNull(t.revokedAt)),
    expired: countWhere(expiredAt(t, now)),
  };
};

/** Sessions a purge with these cut-offs deletes (server/core/session-rules.ts isPurgeable). */
export const purgeable = (t: SessionColumns, cutoffs: PurgeCutoffs) =>
  or(lte(t.revokedAt, cutoffs.revokedBefore), and(isNull(t.revokedAt), lte(t.expiresAt, cutoffs.expiredBefore)));

/** Outbox rows relayed before the cut-off. */
export const relayedBefore = (o: OutboxColumns, cutoffs: PurgeCutoffs) =>
  and(isNotNull(o.sentAt), lte(o.sentAt, cutoffs.sentBefore));
