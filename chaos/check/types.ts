import type { FinalState } from "../final-state";
import type { Op } from "../history";

/** One way the history broke the contract. `detail` names op and session ids, never a token. */
export interface Violation {
  check: string;
  detail: string;
}

export interface CheckInput {
  ops: Op[];
  final: FinalState;
  /** REFRESH_REUSE_GRACE of the instances, ms. */
  graceMs: number;
}
