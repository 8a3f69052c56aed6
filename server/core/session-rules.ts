/**
 * The rules about sessions that every store used to spell out on its own, written once: which
 * token a presented one is, which sessions the cap evicts, in what order a user's sessions are
 * listed, and what a purge removes. Pure functions; adapters call them, never restate them.
 */
import { type PurgeCutoffs, type SessionRow, sessionStatus } from "./ports";

/** Most recently used first (the order of /session/me); ties by creation, then id, so it is total. */
export function sessionOrder(a: SessionRow, b: SessionRow): number {
  return (
    b.lastUsedAt - a.lastUsedAt ||
    b.createdAt - a.createdAt ||
    (a.sessionId < b.sessionId ? 1 : a.sessionId > b.sessionId ? -1 : 0)
  );
}

/**
 * The sessions to revoke (reason session_limit) so that, with one more, the user holds at most
 * `max` active ones: the least recently used first. `live` are the user's active sessions.
 */
export function evictionVictims(live: SessionRow[], max: number): SessionRow[] {
  if (max <= 0 || live.length < max) return [];
  return [...live]
    .sort(sessionOrder)
    .slice(max - 1)
    .reverse();
}

/**
 * What a presented refresh token is to its session (CONTRACT §3):
 * - current: the session's current token, session active;
 * - grace: the token rotated most recently, within the window after that rotation, session active;
 * - reuse: an older token of the session's chain (its generation is behind), session active;
 * - expired: the current token of an unrevoked session past its deadline;
 * - invalid: anything else (unknown, revoked, a token of an ended session).
 * `generation` comes from the token's authenticated tag, so "older" is certain without a stored list.
 */
export type TokenVerdict = "current" | "grace" | "reuse" | "expired" | "invalid";

export function classifyToken(
  row: SessionRow | null,
  presented: { hash: string; generation: number },
  now: number,
  graceMs: number,
): TokenVerdict {
  if (!row) return "invalid";
  const status = sessionStatus(row, now);
  if (presented.hash === row.refreshTokenHash) {
    return status === "active" ? "current" : status === "expired" ? "expired" : "invalid";
  }
  if (status !== "active") return "invalid";
  const inGrace = row.previousTokenHash === presented.hash && row.rotatedAt !== null && row.rotatedAt >= now - graceMs;
  if (inGrace) return "grace";
  return presented.generation < row.rotationCount ? "reuse" : "invalid";
}

/** Cut-offs for deleting what ended more than `olderThanMs` ago; an unrevoked session counts as ended at its deadline. */
export function purgeCutoffs(olderThanMs: number, now: number): PurgeCutoffs {
  const endedBefore = now - olderThanMs;
  return {
    revokedBefore: endedBefore,
    expiredBefore: Math.min(endedBefore, now),
    sentBefore: endedBefore,
    proofsBefore: now,
  };
}

/** Whether purge with these cut-offs deletes the session (the stores' SQL and scripts say the same). */
export function isPurgeable(row: SessionRow, cutoffs: PurgeCutoffs): boolean {
  return row.revokedAt !== null ? row.revokedAt <= cutoffs.revokedBefore : row.expiresAt <= cutoffs.expiredBefore;
}
