/**
 * A small history that keeps the contract, with its final state, for the checker's tests: each
 * test breaks one thing in a fresh copy and expects exactly that violation.
 */
import type { CheckInput } from "../../chaos/check";
import type { FinalState, OutboxRow } from "../../chaos/final-state";
import type { Op } from "../../chaos/history";

export const S1 = "0190a000-0000-7000-8000-000000000001";
export const S2 = "0190a000-0000-7000-8000-000000000002";

let nextId = 1;
function op(fields: Partial<Op> & Pick<Op, "kind" | "userId" | "start" | "status">): Op {
  return { id: nextId++, end: fields.start + 10, instance: "instance-1", ...fields };
}

function event(seq: number, subject: string, sessionId: string, reason: string | null = null): OutboxRow {
  return { seq, id: `event-${seq}`, subject, sessionId, reason, sentAt: 5_000 };
}

/** u1 signs in, refreshes (once alone, twice at once with one token), logs out; u2 signs in and is deleted. */
export function cleanHistory(): CheckInput {
  nextId = 1;
  const pair = (session: string, token: string) => ({
    session_id: session,
    refresh_token: token,
    access_token: `at-${token}`,
  });
  const ops: Op[] = [
    op({ kind: "create", userId: "u1", start: 1_000, status: 201, sessionId: S1, body: pair(S1, "T0") }),
    op({ kind: "refresh", userId: "u1", start: 1_100, status: 200, sessionId: S1, token: "T0", body: pair(S1, "T1") }),
    op({
      kind: "refresh",
      userId: "u1",
      start: 1_200,
      status: 200,
      sessionId: S1,
      token: "T1",
      group: 1,
      body: pair(S1, "T2"),
    }),
    op({
      kind: "refresh",
      userId: "u1",
      start: 1_201,
      status: 200,
      sessionId: S1,
      token: "T1",
      group: 1,
      body: pair(S1, "T2"),
      instance: "instance-2",
    }),
    op({
      kind: "validate",
      userId: "u1",
      start: 1_250,
      status: 200,
      sessionId: S1,
      token: "T2",
      body: { active: true },
    }),
    op({
      kind: "refresh",
      userId: "u1",
      start: 1_260,
      status: 503,
      sessionId: S1,
      token: "T2",
      body: { error: "unavailable" },
    }),
    op({ kind: "logout", userId: "u1", start: 1_300, status: 204, sessionId: S1 }),
    op({
      kind: "validate",
      userId: "u1",
      start: 1_400,
      status: 200,
      sessionId: S1,
      token: "T2",
      body: { active: false },
    }),
    op({ kind: "create", userId: "u2", start: 1_500, status: 201, sessionId: S2, body: pair(S2, "A0") }),
    op({ kind: "user_deleted", userId: "u2", start: 2_000, status: 200, body: { id: "ud-1" } }),
  ];
  const final: FinalState = {
    sessions: new Map([
      [S1, { userId: "u1", createdAt: 1_005, revokedAt: 1_305, reason: "logout", rotationCount: 2 }],
      [S2, { userId: "u2", createdAt: 1_505, revokedAt: 2_100, reason: "user_deleted", rotationCount: 0 }],
    ]),
    outbox: [
      event(1, "session.created", S1),
      event(2, "session.revoked", S1, "logout"),
      event(3, "session.created", S2),
      event(4, "session.revoked", S2, "user_deleted"),
    ],
    stream: [],
    deletedUsers: new Set(["u2"]),
    validations: new Map(["T0", "T1", "T2", "A0"].map((token) => [token, [false, false, false]])),
    drained: true,
    drainMs: 100,
    outboxEmptyMs: 50,
    usersConsumedMs: 100,
  };
  final.stream = final.outbox.map(({ sentAt: _, ...row }) => ({ ...row }));
  return { ops, final, graceMs: 10_000 };
}

/** A refresh op to add to a history (ids far from the fixture's). */
export function extraOp(fields: Partial<Op> & Pick<Op, "kind" | "userId" | "start" | "status">): Op {
  return { id: 1_000 + nextId++, end: fields.start + 10, instance: "instance-3", ...fields };
}
