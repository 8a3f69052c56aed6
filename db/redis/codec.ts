/**
 * SessionRow ↔ Redis hash. Field names are the SQL column names; a null column is an absent field
 * (so an empty string stays an empty string). Numbers are decimal strings.
 */
import type { SessionRow } from "../../server/core/ports";

type Kind = "text" | "nullableText" | "number" | "nullableNumber";

const FIELDS: [keyof SessionRow, string, Kind][] = [
  ["sessionId", "session_id", "text"],
  ["userId", "user_id", "text"],
  ["refreshTokenHash", "refresh_token_hash", "text"],
  ["previousTokenHash", "previous_token_hash", "nullableText"],
  ["rotationNonce", "rotation_nonce", "nullableText"],
  ["rotatedAt", "rotated_at", "nullableNumber"],
  ["rotationCount", "rotation_count", "number"],
  ["userAgent", "user_agent", "nullableText"],
  ["ip", "ip", "nullableText"],
  ["claims", "claims", "nullableText"],
  ["name", "name", "nullableText"],
  ["dpopJkt", "dpop_jkt", "nullableText"],
  ["mac", "mac", "text"],
  ["createdAt", "created_at", "number"],
  ["lastUsedAt", "last_used_at", "number"],
  ["absoluteExpiresAt", "absolute_expires_at", "number"],
  ["expiresAt", "expires_at", "number"],
  ["accessExpiresAt", "access_expires_at", "number"],
  ["revokedAt", "revoked_at", "nullableNumber"],
  ["revokeReason", "revoke_reason", "nullableText"],
];

/** Field/value pairs of the non-null columns, for HSET. */
export function encodeRow(row: SessionRow): string[] {
  const out: string[] = [];
  for (const [prop, field] of FIELDS) {
    const value = row[prop];
    if (value !== null && value !== undefined) out.push(field, String(value));
  }
  return out;
}

/** A row from a map of field → value; `lenient` fields may be missing (read as ""). */
function fromMap(values: Map<string, string>, lenient: ReadonlySet<string> = new Set()): SessionRow {
  const row: Record<string, string | number | null> = {};
  for (const [prop, field, kind] of FIELDS) {
    const value = values.get(field);
    if (value === undefined) {
      if (kind === "nullableText" || kind === "nullableNumber") row[prop] = null;
      else if (lenient.has(field)) row[prop] = "";
      else throw new Error(`Redis session hash lacks ${field}`);
    } else {
      row[prop] = kind === "number" || kind === "nullableNumber" ? Number(value) : value;
    }
  }
  return row as unknown as SessionRow;
}

/** A row from HGETALL's flat reply (as Lua scripts return it). */
export function decodeRow(flat: unknown): SessionRow {
  const values = new Map<string, string>();
  const list = flat as string[];
  for (let i = 0; i < list.length; i += 2) values.set(list[i]!, list[i + 1]!);
  return fromMap(values);
}

export const decodeRows = (flats: unknown[]): SessionRow[] => flats.map(decodeRow);

/** The facts a revocation script stored with its outbox row: the row as revoked, without its token hash. */
export function decodeFacts(json: string): SessionRow {
  const values = new Map(Object.entries(JSON.parse(json) as Record<string, string>));
  return fromMap(values, new Set(["refresh_token_hash"]));
}

/** "" is absent, "=text" is text (see opt() in lua/prelude.lua). */
export const optional = (value: string | null | undefined): string =>
  value === null || value === undefined ? "" : `=${value}`;

/** A created event as script arguments: id, subject, payload, created_at (outboxRecord's columns). */
export function eventArgs(event: { id: string; subject: string; payload: string; createdAt: number }): string[] {
  return [event.id, event.subject, event.payload, String(event.createdAt)];
}
