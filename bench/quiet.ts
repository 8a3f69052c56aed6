/**
 * What the one log line per request costs: validate and me on two SQLite FULL servers side by
 * side, one logging at the benchmark's level and one at `warn` (no line per request), measured in
 * alternation so that the machine's drift between runs (±20 % here) falls on both alike. Each
 * figure is the better of its rounds.
 */
import { measureWorkload } from "./measure";
import type { QuietRun, WorkloadFigure } from "./results";
import { startBenchServer } from "./server-run";
import { settings } from "./settings";
import { type StoreTarget, sqliteTarget } from "./stores";
import { type Ceilings, WorkloadContext, type WorkloadName, workload } from "./workloads";

export const QUIET_LOG_LEVEL = "warn";
const ROUNDS = 2;
const NAMES: WorkloadName[] = ["validate", "me"];

async function side(logLevel: string) {
  const target: StoreTarget = sqliteTarget("FULL");
  await (await target.open()).close();
  const server = await startBenchServer(target, { LOG_LEVEL: logLevel });
  return { target, server, ctx: new WorkloadContext(target), best: new Map<WorkloadName, WorkloadFigure>() };
}

export async function runQuiet(ceilings: Ceilings): Promise<QuietRun> {
  const sides = [await side(settings.logLevel), await side(QUIET_LOG_LEVEL)] as const;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sides) {
        for (const name of NAMES) {
          const figure = await measureWorkload(s.server.url, s.ctx, workload(name), ceilings);
          const best = s.best.get(name);
          if (!best || (figure.counts && figure.rps > best.rps)) s.best.set(name, figure);
        }
      }
    }
    const [logged, quiet] = sides;
    return {
      logLevel: QUIET_LOG_LEVEL,
      logged: NAMES.map((name) => logged.best.get(name)!),
      workloads: NAMES.map((name) => quiet.best.get(name)!),
    };
  } finally {
    for (const s of sides) {
      await s.server.stop();
      await s.target.drop();
    }
  }
}
