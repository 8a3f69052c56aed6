/**
 * SessionRow ↔ Redis hash. Field names are the SQL column names; a null column is an absent field
 * (so an empty string stays an empty string). Numbers are decimal strings.
 */
import type { CloudEvent } from "../../server/core/events";
import type { OutboxRow, SessionRow } from "../../server/core/ports";

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

/** A row from HGETALL's flat reply (as Lua scripts return it). */
export function decodeRow(flat: unknown): SessionRow {
  const values = new Map<string, string>();
  const list = flat as string[];
  for (let i = 0; i < list.length; i += 2) values.set(list[i]!, list[i + 1]!);
  const row: Record<string, string | number | null> = {};
  for (const [prop, field, kind] of FIELDS) {
    const value = values.get(field);
    if (value === undefined) {
      if (kind === "text" || kind === "number") throw new Error(`Redis session hash lacks ${field}`);
      row[prop] = null;
    } else {
      row[prop] = kind === "number" || kind === "nullableNumber" ? Number(value) : value;
    }
  }
  return row as unknown as SessionRow;
}

export const decodeRows = (flats: unknown[]): SessionRow[] => flats.map(decodeRow);

/** An outbox row from pending.lua's {id, seq, subject, payload, created_at}. */
export function decodeEvent(entry: unknown): OutboxRow {
  const [id, seq, subject, payload, createdAt] = entry as string[];
  return {
    id: id!,
    seq: Number(seq),
    subject: subject!,
    payload: payload!,
    createdAt: Number(createdAt),
    sentAt: null,
  };
}

/** "" is absent, "=text" is text (see opt() in lua/prelude.lua). */
export const optional = (value: string | null | undefined): string =>
  value === null || value === undefined ? "" : `=${value}`;

/** Outbox rows as script arguments: the count, then id, subject, payload, created_at of each. */
export function eventArgs(events: CloudEvent[]): string[] {
  const out = [String(events.length)];
  for (const event of events) out.push(event.id, event.type, JSON.stringify(event), String(Date.parse(event.time)));
  return out;
}
