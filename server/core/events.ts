/** CloudEvents 1.0 documents for CONTRACT §5. Pure: ids and times come from the caller. */
import type { EventFactory, RevokeReason, SessionRow } from "./ports";

export const EVENT_SOURCE = "session-service";

export interface CloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: "session.created" | "session.revoked";
  subject: string;
  time: string;
  datacontenttype: "application/json";
  data: Record<string, unknown>;
}

export const iso = (ms: number) => new Date(ms).toISOString();

function envelope(
  type: CloudEvent["type"],
  id: string,
  sessionId: string,
  now: number,
  data: CloudEvent["data"],
): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: EVENT_SOURCE,
    type,
    subject: sessionId,
    time: iso(now),
    datacontenttype: "application/json",
    data,
  };
}

/** Deliberately lists each field: no token, hash or claim can slip into an event. */
export function sessionCreatedEvent(id: string, row: SessionRow): CloudEvent {
  return envelope("session.created", id, row.sessionId, row.createdAt, {
    session_id: row.sessionId,
    user_id: row.userId,
    user_agent: row.userAgent,
    ip: row.ip,
    created_at: iso(row.createdAt),
    expires_at: iso(row.expiresAt),
    bound: row.dpopJkt !== null,
  });
}

export function sessionRevokedEvent(id: string, row: SessionRow, reason: RevokeReason, revokedAt: number): CloudEvent {
  return envelope("session.revoked", id, row.sessionId, revokedAt, {
    session_id: row.sessionId,
    user_id: row.userId,
    reason,
    revoked_at: iso(revokedAt),
    access_token_expires_at: iso(row.accessExpiresAt),
  });
}

/** The document of a revoked row: it carries its reason and time. */
export const revokedRowEvent = (id: string, row: SessionRow) =>
  sessionRevokedEvent(id, row, row.revokeReason as RevokeReason, row.revokedAt!);

/** The factory a store calls inside its transaction. */
export function eventFactory(newId: () => string): EventFactory {
  return {
    created: (row, id) => sessionCreatedEvent(id ?? newId(), row),
    revoked: (row, id) => revokedRowEvent(id ?? newId(), row),
  };
}

/** The outbox row of an event, as every store writes it: published on the subject equal to its type. */
export function outboxRecord(event: CloudEvent): { id: string; subject: string; payload: string; createdAt: number } {
  return { id: event.id, subject: event.type, payload: JSON.stringify(event), createdAt: Date.parse(event.time) };
}
