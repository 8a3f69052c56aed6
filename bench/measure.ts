/** One workload against one running server: warm-up, pool sizing from the warm-up rate, measurement. */
import { counts, type LoadResult, runWrk } from "./load";
import { cpuSeconds } from "./memory";
import type { WorkloadFigure } from "./results";
import { settings } from "./settings";
import type { Ceilings, Workload, WorkloadContext } from "./workloads";

/** Distinct tokens seeded for the warm-up: it only has to warm, a short pool does no harm there. */
const WARMUP_RATE_GUESS = 20_000;
/**
 * Pools for the measurement hold 3× what the faster of the warm-up rate and the composite ceiling
 * would use, plus a margin: a warm-up can run far below the steady rate (cold pages after a bulk
 * load) and a ceiling measured on a busy machine can be low, but not both by 3×.
 */
const POOL_FACTOR = 3;

export async function measureWorkload(
  url: string,
  ctx: WorkloadContext,
  workload: Workload,
  ceilings: Ceilings,
  /** The server's pid: its CPU per request over the measured run is reported too. */
  pid?: number,
): Promise<WorkloadFigure> {
  const warmupPlan = await workload.prepare(ctx, settings.warmupSeconds * WARMUP_RATE_GUESS);
  const warm = await runWrk({ url, ...warmupPlan, seconds: settings.warmupSeconds });
  const ceiling = 1 / workload.cost(ceilings);
  const expected = Math.ceil(Math.max(warm.rps, ceiling) * settings.seconds * POOL_FACTOR) + 2_000;
  const plan = await workload.prepare(ctx, expected);
  const cpuBefore = pid === undefined ? 0 : cpuSeconds(pid);
  const result = await runWrk({ url, ...plan, seconds: settings.seconds });
  const cpuUsPerRequest = pid === undefined ? undefined : ((cpuSeconds(pid) - cpuBefore) * 1e6) / result.requests;
  const figure = {
    ...result,
    workload: workload.name,
    ceiling,
    ofCeiling: result.rps / ceiling,
    ofFloor: result.rps / ceilings.http,
    counts: counts(result),
    cpuUsPerRequest,
  };
  console.log(`    ${line(workload.name, figure)}`);
  return figure;
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

export function line(name: string, f: LoadResult & Partial<WorkloadFigure>): string {
  const parts = [
    name.padEnd(13),
    `${f.rps.toFixed(0).padStart(6)} req/s`,
    `p50 ${f.p50Ms.toFixed(1).padStart(5)} ms`,
    `p99 ${f.p99Ms.toFixed(1).padStart(6)} ms`,
  ];
  if (f.ceiling !== undefined) parts.push(`${pct(f.ofCeiling!).padStart(5)} of ceiling ${f.ceiling.toFixed(0)}/s`);
  if (f.ofFloor !== undefined) parts.push(`${pct(f.ofFloor).padStart(5)} of HTTP floor`);
  if (f.cpuUsPerRequest !== undefined) parts.push(`server CPU ${f.cpuUsPerRequest.toFixed(0)} µs/request`);
  if (f.errors > 0) parts.push(`${f.errors} errors — does not count`);
  if (f.exhausted > 0) parts.push(`${f.exhausted} requests past the token pool — does not count`);
  return parts.join("  ");
}
