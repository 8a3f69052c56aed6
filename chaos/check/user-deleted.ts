/**
 * Each `user.deleted` is applied once (CONTRACT §5): the user is marked deleted, every session of
 * theirs is revoked, the ones still active when it was published with reason `user_deleted`, and
 * (checked by the event check) each with exactly one `session.revoked`.
 */
import { activeAnywhere, deriveFacts } from "./facts";
import type { CheckInput, Violation } from "./types";

export function checkUserDeleted({ ops, final }: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const facts = deriveFacts(ops);
  const published = new Map<string, number>();
  for (const op of ops) {
    if (op.kind !== "user_deleted") continue;
    if (op.status !== 200) {
      violations.push({ check: "user.deleted not published", detail: `op ${op.id} for ${op.userId}` });
      continue;
    }
    published.set(op.userId, Math.min(published.get(op.userId) ?? Infinity, op.start));
  }
  for (const [userId, at] of published) {
    if (!final.deletedUsers.has(userId)) {
      violations.push({ check: "user.deleted not applied", detail: `${userId} is not marked deleted` });
    }
    for (const [session, row] of final.sessions) {
      if (row.userId !== userId) continue;
      if ((facts.tokensOfSession.get(session) ?? []).some((token) => activeAnywhere(final.validations, token))) {
        violations.push({
          check: "user.deleted not applied",
          detail: `a token of session ${session} of ${userId} validates`,
        });
      }
      if (row.revokedAt === null) {
        violations.push({ check: "user.deleted not applied", detail: `session ${session} of ${userId} still active` });
      } else if (row.revokedAt >= at && row.reason !== "user_deleted") {
        violations.push({
          check: "user.deleted reason",
          detail: `session ${session} revoked after it with reason ${row.reason}`,
        });
      }
    }
  }
  for (const op of ops) {
    const at = published.get(op.userId);
    if (
      op.kind === "create" &&
      op.status === 201 &&
      at !== undefined &&
      op.start > at &&
      final.deletedUsers.has(op.userId)
    ) {
      // Only a create that began after the user was marked (not merely published) is wrong; the
      // loop never creates for a user after publishing, so any such 201 is reported.
      violations.push({ check: "session created for a deleted user", detail: `op ${op.id} for ${op.userId}` });
    }
  }
  return violations;
}
