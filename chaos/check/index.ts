/** The whole history against the contract: every check, every violation, each named. */
import { checkChanges } from "./changes";
import { checkEvents } from "./events";
import { checkLogouts } from "./logouts";
import { checkStatuses } from "./statuses";
import { checkTokens } from "./tokens";
import type { CheckInput, Violation } from "./types";
import { checkUserDeleted } from "./user-deleted";

export type { CheckInput, Violation } from "./types";

export const CHECKS = [checkStatuses, checkTokens, checkLogouts, checkChanges, checkEvents, checkUserDeleted];

export function checkHistory(input: CheckInput): Violation[] {
  return CHECKS.flatMap((check) => check(input));
}
