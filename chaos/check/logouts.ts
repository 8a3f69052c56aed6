/**
 * A logout answered 2xx is committed (CONTRACT §1) and seen by every instance: after it, no
 * instance treats the session as active — neither during the run (a later validate, refresh or
 * /session/me) nor at the end (validate of every token of it on every instance, the database row).
 */
import type { Op } from "../history";
import { activeAnywhere, deriveFacts } from "./facts";
import type { CheckInput, Violation } from "./types";

/** The sessions a 2xx logout ended, by the client's knowledge and (for "all") the database's. */
function endedBy(op: Op, input: CheckInput, userOfSession: Map<string, string>): string[] {
  if ((op.kind === "logout" && op.status === 204) || (op.kind === "revoke" && op.status === 200)) {
    return op.sessionId ? [op.sessionId] : [];
  }
  if (op.kind === "logout_all" && op.status === 200) {
    const ended = new Set<string>();
    // One loop per user, one call at a time: every session created before this call began is the user's.
    for (const [id, row] of input.final.sessions)
      if (row.userId === op.userId && row.createdAt < op.start) ended.add(id);
    for (const created of input.ops) {
      if (
        created.kind === "create" &&
        created.status === 201 &&
        created.end < op.start &&
        userOfSession.get(created.sessionId!) === op.userId
      ) {
        ended.add(created.sessionId!);
      }
    }
    return [...ended];
  }
  return [];
}

export function checkLogouts(input: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const facts = deriveFacts(input.ops);
  const loggedOutAt = new Map<string, { at: number; op: Op }>();
  for (const op of input.ops) {
    for (const session of endedBy(op, input, facts.userOfSession)) {
      const known = loggedOutAt.get(session);
      if (!known || op.end < known.at) loggedOutAt.set(session, { at: op.end, op });
    }
  }

  for (const [session, { op }] of loggedOutAt) {
    const row = input.final.sessions.get(session);
    if (!row) {
      violations.push({ check: "logged-out session missing", detail: `session ${session} (op ${op.id})` });
    } else if (row.revokedAt === null) {
      violations.push({
        check: "2xx logout not committed",
        detail: `session ${session} active in the database after op ${op.id} ${op.kind} (${op.instance})`,
      });
    }
    for (const token of facts.tokensOfSession.get(session) ?? []) {
      if (activeAnywhere(input.final.validations, token)) {
        violations.push({
          check: "logged-out session validates",
          detail: `session ${session} after op ${op.id} ${op.kind}`,
        });
      }
    }
  }

  for (const op of input.ops) {
    const session = op.sessionId ?? (op.token ? facts.sessionOfToken.get(op.token) : undefined);
    const logout = session ? loggedOutAt.get(session) : undefined;
    if (!logout || op.start <= logout.at) continue;
    const stillActive =
      (op.kind === "validate" && op.status === 200 && op.body?.active === true) ||
      (op.kind === "refresh" && op.status === 200) ||
      (op.kind === "me" && op.status === 200);
    if (stillActive) {
      violations.push({
        check: "session active after a 2xx logout",
        detail: `op ${op.id} ${op.kind} by ${op.instance} ${op.start - logout.at} ms after op ${logout.op.id} ${logout.op.kind} by ${logout.op.instance}`,
      });
    }
  }
  return violations;
}
