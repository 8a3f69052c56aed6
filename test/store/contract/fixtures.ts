/** Rows, inputs and readers shared by the contract parts. Times are fixed: the store takes `now` as an argument. */
import { expect } from "bun:test";
import type { CloudEvent } from "../../../server/core/events";
import { eventFactory } from "../../../server/core/events";
import type { EventFactory, RotateInput, SessionRow, SessionStore } from "../../../server/core/ports";

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
  const result = await store.createSession({ row: newRow(userId, now), maxSessionsPerUser: max }, events);
  expect(result).not.toBeNull();
  return result!.row;
}

export function rotateInput(presentedHash: string, now: number, extra: Partial<RotateInput> = {}): RotateInput {
  return {
    presentedHash,
    newHash: newHash(),
    nonce: crypto.randomUUID(),
    now,
    idleTimeoutMs: IDLE,
    graceMs: GRACE,
    accessExpiresAt: now + ACCESS_TTL,
    ...extra,
  };
}

/** Rotates and insists it rotated; returns the new current row. */
export async function rotateOk(store: SessionStore, presentedHash: string, now: number): Promise<SessionRow> {
  const result = await store.rotate(rotateInput(presentedHash, now), events);
  expect(result.kind).toBe("rotated");
  return (result as { row: SessionRow }).row;
}

/** Every unsent event, parsed, in outbox order. */
export async function pending(store: SessionStore): Promise<CloudEvent[]> {
  return (await store.pendingEvents(10_000)).map((row) => JSON.parse(row.payload) as CloudEvent);
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
}
