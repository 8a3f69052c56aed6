/**
 * A 201 or 200 is a committed change, still there after recovery: the created session exists, a
 * rotated token no longer validates anywhere, and the database counts at least the rotations the
 * clients saw.
 */
import { activeAnywhere, deriveFacts } from "./facts";
import type { CheckInput, Violation } from "./types";

export function checkChanges({ ops, final }: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const facts = deriveFacts(ops);
  for (const op of ops) {
    if (op.kind === "create" && op.status === 201) {
      const row = final.sessions.get(op.body?.session_id ?? "");
      if (!row) violations.push({ check: "created session missing", detail: `op ${op.id} by ${op.instance}` });
      else if (row.userId !== op.userId) violations.push({ check: "session of another user", detail: `op ${op.id}` });
    }
  }
  const rotations = new Map<string, number>();
  for (const [presented, oks] of facts.refreshedOk) {
    const session = facts.sessionOfToken.get(presented);
    if (!session) continue;
    rotations.set(session, (rotations.get(session) ?? 0) + 1);
    if (activeAnywhere(final.validations, presented)) {
      violations.push({
        check: "rotation lost",
        detail: `session ${session}: a token rotated by op ${oks[0]!.id} still validates`,
      });
    }
  }
  for (const [session, seen] of rotations) {
    const row = final.sessions.get(session);
    if (row && row.rotationCount < seen) {
      violations.push({
        check: "rotation lost",
        detail: `session ${session}: ${seen} rotations answered, ${row.rotationCount} stored`,
      });
    }
  }
  return violations;
}
