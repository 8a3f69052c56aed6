/**
 * A `session.revoked` CloudEvent (CONTRACT §5) read into a deny-list entry. Anything that does not
 * name a session is malformed: skipped and counted, never thrown.
 */

/** No access token lives longer than this (the service refuses an ACCESS_TOKEN_TTL over 1 h). */
const LONGEST_TOKEN_LIFETIME_MS = 3_600_000;
const MAX_EVENT_BYTES = 64 * 1024;
const decoder = new TextDecoder();

export interface Revocation {
  sessionId: string;
  /** Until when the session's tokens are refused (ms). */
  untilMs: number;
  /** False when `access_token_expires_at` was missing or unreadable: applied, but counted as malformed. */
  complete: boolean;
}

/**
 * `lookbackMs`: an entry is never kept longer than the longer of this and one token lifetime from
 * now, so a bogus far-future `access_token_expires_at` cannot pin memory.
 */
export function readRevocation(
  data: Uint8Array,
  now: number,
  toleranceMs: number,
  lookbackMs: number,
): Revocation | null {
  if (data.length === 0 || data.length > MAX_EVENT_BYTES) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  const body = (doc as { data?: unknown } | null)?.data;
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const { session_id: sessionId, access_token_expires_at: expiresAt } = body as Record<string, unknown>;
  if (typeof sessionId !== "string" || sessionId === "" || sessionId.length > 256) return null;
  const latest = now + Math.max(lookbackMs, LONGEST_TOKEN_LIFETIME_MS);
  const expiresAtMs = typeof expiresAt === "string" ? Date.parse(expiresAt) : Number.NaN;
  // Unreadable expiry: the session is still revoked; deny it for as long as any of its tokens could live.
  if (Number.isNaN(expiresAtMs)) return { sessionId, untilMs: latest + toleranceMs, complete: false };
  return { sessionId, untilMs: Math.min(expiresAtMs, latest) + toleranceMs, complete: true };
}
