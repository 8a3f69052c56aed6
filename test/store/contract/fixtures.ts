/** Rows, inputs and readers shared by the contract parts. Times are fixed: the store takes `now` as an argument. */
import { expect } from "bun:test";
import type { CloudEvent } from "../../../server/core/events";
import { eventFactory } from "../../../server/core/events";
import type { EventFactory, GraceReplay, Rotation, SessionRow, SessionStore } from "../../../server/core/ports";
import { sessionOrder } from "../../../server/core/session-rules";

export const T0 = Date.parse("2026-11-30T00:00:00.000Z");
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 24 * 60 * MINUTE;
export const IDLE = 14 * DAY;
export const LIFETIME = 30 * DAY;
export const GRACE = 10 * SECOND;
export const ACCESS_TTL = 15 * MINUTE;

export const events: EventFactory = eventFactory(() => Bun.randomUUIDv7());

/** Stands in for the keyed hash of a fresh refresh token. */
export const newHash = () => `hash-${crypto.randomUUID()}`;
export const newUser = () => `user-${crypto.randomUUID()}`;

export function newRow(userId: string, now = T0, extra: Partial<SessionRow> = {}): SessionRow {
  return {
    sessionId: Bun.randomUUIDv7(),
    userId,
    refreshTokenHash: newHash(),
    previousTokenHash: null,
    rotationNonce: null,
    rotatedAt: null,
    rotationCount: 0,
    userAgent: "agent/1.0",
    ip: "192.0.2.1",
    claims: '{"role":"member"}',
    name: null,
    dpopJkt: null,
    mac: "mac-of-the-identity-columns",
    createdAt: now,
    lastUsedAt: now,
    absoluteExpiresAt: now + LIFETIME,
    expiresAt: Math.min(now + IDLE, now + LIFETIME),
    accessExpiresAt: now + ACCESS_TTL,
    revokedAt: null,
    revokeReason: null,
    ...extra,
  };
}

/** Creates a session and insists it was created. */
export async function create(store: SessionStore, userId: string, now = T0, max = 100): Promise<SessionRow> {
  const result = await store.sessions.create(newRow(userId, now), max, events);
  expect(result).not.toBeNull();
  return result!.row;
}

export function rotation(
  row: Pick<SessionRow, "sessionId" | "refreshTokenHash">,
  now: number,
  extra: Partial<Rotation> = {},
): Rotation {
  return {
    sessionId: row.sessionId,
    presentedHash: row.refreshTokenHash,
    newHash: newHash(),
    nonce: crypto.randomUUID(),
    now,
    idleDeadline: now + IDLE,
    accessExpiresAt: now + ACCESS_TTL,
    ...extra,
  };
}

export function graceReplay(
  row: SessionRow,
  presentedHash: string,
  now: number,
  extra: Partial<GraceReplay> = {},
): GraceReplay {
  return {
    sessionId: row.sessionId,
    presentedHash,
    graceStart: now - GRACE,
    now,
    accessExpiresAt: now + ACCESS_TTL,
    ...extra,
  };
}

/** Rotates the session's current token and insists it rotated; returns the new current row. */
export async function rotateOk(store: SessionStore, row: SessionRow, now: number): Promise<SessionRow> {
  const result = await store.sessions.rotate(rotation(row, now));
  expect(result).not.toBeNull();
  expect(result).not.toBe("proof_replayed");
  return result as SessionRow;
}

/** Every unsent event, parsed, in outbox order. */
export async function pending(store: SessionStore): Promise<CloudEvent[]> {
  return (await store.outbox.pendingEvents(10_000)).map((row) => JSON.parse(row.payload) as CloudEvent);
}

/** The unsent events of one session as "type:reason" strings, in order. */
export async function eventTrail(store: SessionStore, sessionId: string): Promise<string[]> {
  return (await pending(store))
    .filter((e) => e.subject === sessionId)
    .map((e) => (e.type === "session.revoked" ? `revoked:${e.data.reason}` : "created"));
}

/** An EventFactory that fails, to prove the change and its events commit or roll back together. */
export const failingEvents: EventFactory = {
  created: () => {
    throw new Error("event factory failed");
  },
  revoked: () => {
    throw new Error("event factory failed");
  },
};

export interface ContractContext {
  /** The empty store of the running test. */
  readonly store: SessionStore;
  /** See StoreFactory.revocationEventsWrittenByScript (contract.ts). */
  readonly revocationEventsWrittenByScript: boolean;
}

/** The ids of the user's active sessions, most recently used first (the core's order: stores may return any). */
export async function liveIds(store: SessionStore, userId: string, now: number): Promise<string[]> {
  return (await store.sessions.listActiveSessions(userId, now)).sort(sessionOrder).map((r) => r.sessionId);
}
