/**
 * `bun run chaos`: a fault-injection run of the multi-instance deployment with a check of the
 * whole history (see README, "Running several instances"). CHAOS_SECONDS (default 120) bounds
 * the workload, CHAOS_SEED repeats a run, CHAOS_REPORT_JSON writes the result for tests,
 * CHAOS_HISTORY_JSON every operation (without its tokens).
 * Exit status 0 without violations, 1 with some or on an error.
 */
import { writeFileSync } from "node:fs";
import { cleanUp, installCleanup } from "../bench/processes";
import { redacted } from "./history";
import { chooseSeed } from "./random";
import { formatReport } from "./report";
import { runChaos } from "./run";

installCleanup("chaos");
const seconds = Number(process.env.CHAOS_SECONDS ?? "120");
// CHAOS_LOOPS: concurrent clients (default 6); the test suite's run uses fewer, to leave the shared cores to other tests.
const loops = Number(process.env.CHAOS_LOOPS ?? "6");
if (!Number.isInteger(loops) || loops < 1 || loops > 64) {
  console.error("CHAOS_LOOPS must be a whole number from 1 to 64");
  process.exit(2);
}
if (!Number.isFinite(seconds) || seconds < 10 || seconds > 3_600) {
  console.error("CHAOS_SECONDS must be a number of seconds from 10 to 3600");
  process.exit(2);
}
let code = 1;
try {
  const seed = chooseSeed(process.env.CHAOS_SEED);
  console.log(`chaos: seed ${seed} (CHAOS_SEED=${seed} repeats the plan), ${seconds} s`);
  const started = Date.now();
  const result = await runChaos({
    seconds,
    seed,
    loops,
    log: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`),
  });
  console.log(`\n${formatReport(result)}`);
  if (process.env.CHAOS_REPORT_JSON)
    writeFileSync(process.env.CHAOS_REPORT_JSON, JSON.stringify({ ...result, ops: undefined }));
  // For looking into a violation: every operation, its tokens left out.
  if (process.env.CHAOS_HISTORY_JSON)
    writeFileSync(process.env.CHAOS_HISTORY_JSON, JSON.stringify(redacted(result.ops)));
  code = result.violations.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanUp();
}
process.exit(code);
