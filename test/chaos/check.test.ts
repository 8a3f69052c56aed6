/**
 * The chaos run's history checker: a history that keeps the contract passes, and each kind of
 * violation the run looks for, crafted into an otherwise clean history, is reported.
 */
import { describe, expect, test } from "bun:test";
import { type CheckInput, checkHistory } from "../../chaos/check";
import { cleanHistory, extraOp, S1, S2 } from "./history-fixture";

const checksOf = (input: CheckInput) => checkHistory(input).map((v) => v.check);

/** Runs the checker on the clean history after `breakIt`, and expects exactly the named checks to fire. */
function expectViolations(breakIt: (input: CheckInput) => void, ...expected: string[]) {
  const input = cleanHistory();
  breakIt(input);
  expect([...new Set(checksOf(input))].sort()).toEqual([...new Set(expected)].sort());
}

const opAt = (input: CheckInput, kind: string, index = 0) => input.ops.filter((op) => op.kind === kind)[index]!;

describe("chaos history checker", () => {
  test("a history that keeps the contract has no violation", () => {
    expect(checkHistory(cleanHistory())).toEqual([]);
  });

  describe("answers", () => {
    test("a 5xx other than 503", () => {
      expectViolations((input) => {
        opAt(input, "validate").status = 500;
      }, "5xx other than 503");
    });

    test("a status the operation cannot get (404 for one's own session)", () => {
      expectViolations((input) => {
        opAt(input, "logout").status = 404;
        // Not a 2xx logout any more, so the session's revocation is no longer explained either.
      }, "unexpected status");
    });

    test("a 503 that is not `unavailable`", () => {
      expectViolations((input) => {
        opAt(input, "refresh", 3).body = { error: "internal_error" };
      }, "503 without unavailable");
    });
  });

  describe("refresh tokens", () => {
    test("two different 200 answers to one token", () => {
      expectViolations((input) => {
        opAt(input, "refresh", 2).body = { session_id: S1, refresh_token: "T2-other", access_token: "x" };
      }, "two different 200 answers to one token");
    });

    test("a 200 for a token that was never handed out", () => {
      expectViolations((input) => {
        input.ops.push(
          extraOp({
            kind: "refresh",
            userId: "u1",
            start: 1_150,
            status: 200,
            token: "forged",
            body: { session_id: S1, refresh_token: "T9", access_token: "x" },
          }),
        );
        input.final.validations.set("T9", [false, false, false]);
      }, "refresh of a token never current");
    });

    test("a 200 for the rotated token after the grace window", () => {
      expectViolations(
        (input) => {
          input.ops.push(
            extraOp({
              kind: "refresh",
              userId: "u1",
              start: 1_110 + 10_100,
              status: 200,
              sessionId: S1,
              token: "T0",
              body: { session_id: S1, refresh_token: "T1", access_token: "x" },
            }),
          );
        },
        "200 outside the grace window",
        "200 for a token older than the previous one",
        "session active after a 2xx logout",
      );
    });

    test("a 200 for a token older than the previous one, inside the window", () => {
      expectViolations((input) => {
        // T0 → T1 answered at 1110, T1 → T2 at 1210: T0 is now older than the previous token.
        input.ops.push(
          extraOp({
            kind: "refresh",
            userId: "u1",
            start: 1_280,
            status: 200,
            sessionId: S1,
            token: "T0",
            body: { session_id: S1, refresh_token: "T1", access_token: "x" },
          }),
        );
      }, "200 for a token older than the previous one");
    });

    test("two tokens of one session validate at the end", () => {
      expectViolations(
        (input) => {
          input.final.sessions.get(S1)!.revokedAt = null;
          input.final.validations.set("T1", [true, true, true]);
          input.final.validations.set("T2", [true, true, true]);
          // S1 was logged out and its tokens then validate: those checks fire as well.
        },
        "two refresh tokens of one session validate",
        "rotation lost",
        "2xx logout not committed",
        "logged-out session validates",
        "session.revoked count",
      );
    });

    test("instances disagree about a token", () => {
      expectViolations(
        (input) => {
          input.final.validations.set("A0", [false, null, true]);
        },
        "instances disagree on a token",
        "user.deleted not applied",
      );
    });

    test("a refused refresh whose session was never revoked", () => {
      expectViolations(
        (input) => {
          input.ops.push(
            extraOp({
              kind: "refresh",
              userId: "u2",
              start: 1_600,
              status: 401,
              sessionId: S2,
              token: "A0",
              body: { error: "invalid_grant" },
            }),
          );
          input.final.sessions.get(S2)!.revokedAt = null;
          input.final.sessions.get(S2)!.reason = null;
          input.final.outbox = input.final.outbox.filter((row) => row.seq !== 4);
          input.final.stream = input.final.stream.filter((row) => row.seq !== 4);
        },
        "refused refresh without revocation",
        "user.deleted not applied",
      );
    });
  });

  describe("logouts", () => {
    test("a 204 logout whose session is still active in the database", () => {
      expectViolations((input) => {
        input.final.sessions.get(S1)!.revokedAt = null;
        input.final.outbox = input.final.outbox.filter((row) => row.seq !== 2);
        input.final.stream = input.final.stream.filter((row) => row.seq !== 2);
      }, "2xx logout not committed");
    });

    test("a logged-out session's token still validates on one instance", () => {
      expectViolations(
        (input) => {
          input.final.validations.set("T2", [false, false, true]);
        },
        "logged-out session validates",
        "instances disagree on a token",
      );
    });

    test("an instance says a session is active after another answered its logout", () => {
      expectViolations((input) => {
        opAt(input, "validate", 1).body = { active: true };
      }, "session active after a 2xx logout");
    });

    test("a logout-all that left an older session of the user active", () => {
      expectViolations(
        (input) => {
          input.ops.push(extraOp({ kind: "logout_all", userId: "u2", start: 1_900, status: 200 }));
          input.final.sessions.set("0190a000-0000-7000-8000-000000000003", {
            userId: "u2",
            createdAt: 1_800,
            revokedAt: null,
            reason: null,
            rotationCount: 0,
          });
          input.final.outbox.push({
            seq: 5,
            id: "event-5",
            subject: "session.created",
            sessionId: "0190a000-0000-7000-8000-000000000003",
            reason: null,
            sentAt: 5_000,
          });
          input.final.stream.push({
            seq: 5,
            id: "event-5",
            subject: "session.created",
            sessionId: "0190a000-0000-7000-8000-000000000003",
            reason: null,
          });
        },
        "2xx logout not committed",
        "user.deleted not applied",
      );
    });
  });

  describe("committed changes", () => {
    test("a 201 whose session is missing after recovery", () => {
      expectViolations(
        (input) => {
          input.final.sessions.delete(S2);
        },
        "created session missing",
        "event of an unknown session",
      );
    });

    test("a rotation answered 200 that was lost (its old token still validates)", () => {
      expectViolations(
        (input) => {
          input.final.validations.set("T0", [true, true, true]);
        },
        "rotation lost",
        "logged-out session validates",
      );
    });

    test("fewer rotations stored than answered", () => {
      expectViolations((input) => {
        input.final.sessions.get(S1)!.rotationCount = 1;
      }, "rotation lost");
    });
  });

  describe("events", () => {
    test("an event missing from SESSIONS", () => {
      expectViolations(
        (input) => {
          input.final.stream = input.final.stream.filter((row) => row.seq !== 3);
        },
        "event missing from SESSIONS",
        "session.created count",
      );
    });

    test("an event twice in SESSIONS", () => {
      expectViolations((input) => {
        input.final.stream.push({ ...input.final.stream[1]!, seq: 9 });
      }, "event twice in SESSIONS");
    });

    test("an event in SESSIONS that the outbox does not know", () => {
      expectViolations(
        (input) => {
          input.final.stream.push({ seq: 9, id: "stray", subject: "session.created", sessionId: S1, reason: null });
        },
        "event not in the outbox",
        "session.created count",
      );
    });

    test("an outbox row never relayed, and a run that did not drain", () => {
      expectViolations(
        (input) => {
          input.final.outbox[3]!.sentAt = null;
          input.final.drained = false;
        },
        "event not relayed",
        "events not relayed after recovery",
      );
    });

    test("a committed revocation without its event", () => {
      expectViolations((input) => {
        input.final.outbox = input.final.outbox.filter((row) => row.seq !== 2);
        input.final.stream = input.final.stream.filter((row) => row.seq !== 2);
      }, "session.revoked count");
    });

    test("revoked before created in the stream", () => {
      expectViolations((input) => {
        input.final.stream = [input.final.stream[1]!, input.final.stream[0]!, ...input.final.stream.slice(2)].map(
          (row, i) => ({ ...row, seq: i + 1 }),
        );
      }, "revoked before created");
    });

    test("an event whose reason is not the stored one", () => {
      expectViolations((input) => {
        input.final.stream[1]!.reason = "admin";
      }, "revoked reason");
    });
  });

  describe("user.deleted", () => {
    test("not applied: the user is not marked and a session stays active", () => {
      expectViolations((input) => {
        input.final.deletedUsers.clear();
        input.final.sessions.get(S2)!.revokedAt = null;
        input.final.outbox = input.final.outbox.filter((row) => row.seq !== 4);
        input.final.stream = input.final.stream.filter((row) => row.seq !== 4);
      }, "user.deleted not applied");
    });

    test("applied twice: two session.revoked for one session", () => {
      expectViolations((input) => {
        input.final.outbox.push({
          seq: 5,
          id: "event-5",
          subject: "session.revoked",
          sessionId: S2,
          reason: "user_deleted",
          sentAt: 5_000,
        });
        input.final.stream.push({
          seq: 5,
          id: "event-5",
          subject: "session.revoked",
          sessionId: S2,
          reason: "user_deleted",
        });
      }, "session.revoked count");
    });

    test("a session revoked after it for another reason", () => {
      expectViolations((input) => {
        input.final.sessions.get(S2)!.reason = "logout";
        input.final.outbox[3]!.reason = "logout";
        input.final.stream[3]!.reason = "logout";
      }, "user.deleted reason");
    });

    test("never acknowledged by JetStream", () => {
      expectViolations((input) => {
        opAt(input, "user_deleted").status = null;
      }, "user.deleted not published");
    });
  });
});
