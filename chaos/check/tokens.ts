/**
 * Rotation (CONTRACT §3): one token, one answer; a rotated token answers again only within the
 * grace window and only while it is the most recently rotated one; at most one token of a
 * session is good at the end, and every instance says the same about it; a refused refresh of a
 * token the client was given means its session was revoked (reuse).
 */
import { deriveFacts } from "./facts";
import type { CheckInput, Violation } from "./types";

/** Date.now() granularity between the client's clock readings and the server's. */
const CLOCK_SLACK_MS = 50;

export function checkTokens({ ops, final, graceMs }: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const facts = deriveFacts(ops);

  for (const [presented, oks] of facts.refreshedOk) {
    const session = facts.sessionOfToken.get(presented);
    if (!session) {
      for (const op of oks) {
        violations.push({
          check: "refresh of a token never current",
          detail: `op ${op.id} answered 200 by ${op.instance}`,
        });
      }
      continue;
    }
    const answers = new Set(oks.map((op) => op.body?.refresh_token ?? ""));
    if (answers.size > 1) {
      violations.push({
        check: "two different 200 answers to one token",
        detail: `session ${session}: ops ${oks.map((op) => `${op.id}@${op.instance}`).join(", ")} gave ${answers.size} tokens`,
      });
    }
    for (const op of oks) {
      if (op.body?.session_id !== session) {
        violations.push({ check: "refresh answered for another session", detail: `op ${op.id}: token of ${session}` });
      }
    }
    const first = oks.reduce((a, b) => (b.end < a.end ? b : a));
    for (const op of oks) {
      if (op.start > first.end + graceMs + CLOCK_SLACK_MS) {
        violations.push({
          check: "200 outside the grace window",
          detail: `session ${session}: op ${op.id} started ${op.start - first.end} ms after the rotation answered (op ${first.id})`,
        });
      }
    }
    // Once the token it was rotated into was itself rotated, the old one is an older token: reuse.
    for (const successor of answers) {
      const next = facts.refreshedOk.get(successor) ?? [];
      if (next.length === 0) continue;
      const rotatedAgain = Math.min(...next.map((op) => op.end));
      for (const op of oks) {
        if (op.start > rotatedAgain + CLOCK_SLACK_MS) {
          violations.push({
            check: "200 for a token older than the previous one",
            detail: `session ${session}: op ${op.id} after its successor was rotated`,
          });
        }
      }
    }
  }

  for (const [session, tokens] of facts.tokensOfSession) {
    const good = tokens.filter((token) => (final.validations.get(token) ?? []).some((active) => active === true));
    if (good.length > 1) {
      violations.push({
        check: "two refresh tokens of one session validate",
        detail: `session ${session}: ${good.length} tokens`,
      });
    }
    for (const token of tokens) {
      const answers = (final.validations.get(token) ?? []).filter((active) => active !== null);
      if (new Set(answers).size > 1) {
        violations.push({ check: "instances disagree on a token", detail: `session ${session}` });
      }
    }
  }

  for (const op of ops) {
    if (op.kind !== "refresh" || op.status !== 401 || !op.token) continue;
    const session = facts.sessionOfToken.get(op.token);
    const row = session ? final.sessions.get(session) : undefined;
    if (row && row.revokedAt === null) {
      violations.push({
        check: "refused refresh without revocation",
        detail: `op ${op.id} (${op.instance}) answered 401 for session ${session}, which is still active`,
      });
    }
  }
  return violations;
}
