/**
 * What the one log line per request costs: validate and me on two SQLite FULL servers side by
 * side, one logging at the benchmark's level and one at `warn` (no line per request), measured in
 * alternation (side-by-side.ts). Each figure is the better of its rounds.
 */
import type { QuietRun } from "./results";
import { settings } from "./settings";
import { bestOf, sideBySide } from "./side-by-side";
import { sqliteTarget } from "./stores";
import type { Ceilings, WorkloadName } from "./workloads";

export const QUIET_LOG_LEVEL = "warn";
const ROUNDS = 2;
const NAMES: WorkloadName[] = ["validate", "me"];

export async function runQuiet(ceilings: Ceilings): Promise<QuietRun> {
  const [logged, quiet] = await sideBySide(
    [{ overrides: { LOG_LEVEL: settings.logLevel } }, { overrides: { LOG_LEVEL: QUIET_LOG_LEVEL } }],
    NAMES,
    ceilings,
    ROUNDS,
    async () => sqliteTarget("FULL"),
  );
  return { logLevel: QUIET_LOG_LEVEL, logged: logged!.map(bestOf), workloads: quiet!.map(bestOf) };
}
