/**
 * Every answer is one the contract allows for that call in this workload: no 5xx but 503, and no
 * status the operation cannot legitimately get (a 404 for a caller's own session, a 401 on create …).
 */
import type { OpKind } from "../history";
import type { CheckInput, Violation } from "./types";

const ALLOWED: Record<OpKind, number[]> = {
  create: [201, 409, 503],
  refresh: [200, 401, 503],
  validate: [200, 503],
  me: [200, 401, 503],
  logout: [204, 401, 503],
  revoke: [200, 503],
  logout_all: [200, 401, 503],
  user_deleted: [200],
};

export function checkStatuses({ ops }: CheckInput): Violation[] {
  const violations: Violation[] = [];
  for (const op of ops) {
    if (op.status === null) continue;
    if (op.status >= 500 && op.status !== 503) {
      violations.push({
        check: "5xx other than 503",
        detail: `op ${op.id} ${op.kind} answered ${op.status} by ${op.instance}`,
      });
    } else if (!ALLOWED[op.kind].includes(op.status)) {
      violations.push({
        check: "unexpected status",
        detail: `op ${op.id} ${op.kind} answered ${op.status} (${op.body?.error ?? "no error code"}) by ${op.instance}`,
      });
    }
    if (op.status === 503 && op.kind !== "user_deleted" && op.body?.error !== "unavailable") {
      violations.push({ check: "503 without unavailable", detail: `op ${op.id} ${op.kind} by ${op.instance}` });
    }
  }
  return violations;
}
