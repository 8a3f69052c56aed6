/**
 * A quick look at a few workloads on one server, for profiling a change without the whole
 * `bun run bench`:   bun bench/probe.ts validate me      (BENCH_CPU_PROF=dir adds a CPU profile)
 * PROBE_STORE: sqlite-full (default), sqlite-normal or postgres; PROBE_FLOOR=1 measures the floor first.
 * Ratios use the HTTP floor only; figures are not written anywhere.
 */
import { readFileSync } from "node:fs";
import { measureHttpFloor } from "./floor";
import { measureWorkload } from "./measure";
import { installCleanup } from "./processes";
import { ensureTools } from "./tools";
import { startBenchServer } from "./server-run";
import { postgresTarget, sqliteTarget, type StoreTarget } from "./stores";
import { WorkloadContext, WORKLOADS } from "./workloads";

/** User + system CPU seconds a process has used (Linux /proc, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

installCleanup();
await ensureTools(["wrk"]);
const names = process.argv.slice(2);
const floor = process.env.PROBE_FLOOR ? await measureHttpFloor() : null;
if (floor) console.log(`floor ${floor.rps.toFixed(0)} req/s`);
const store = process.env.PROBE_STORE ?? "sqlite-full";
const target =
  store === "postgres"
    ? ((await postgresTarget()) as StoreTarget)
    : sqliteTarget(store === "sqlite-normal" ? "NORMAL" : "FULL");
await (await target.open()).close();
const server = await startBenchServer(target);
try {
  const ctx = new WorkloadContext(target);
  const http = floor?.rps ?? 39_000;
  const ceilings = { http, hash: 580_000, sign: 26_000, verify: 5_700, cas: 4_100 };
  for (const workload of WORKLOADS.filter((w) => names.length === 0 || names.includes(w.name))) {
    const before = cpuSeconds(server.proc.pid);
    const started = performance.now();
    await measureWorkload(server.url, ctx, workload, ceilings);
    const busy = (cpuSeconds(server.proc.pid) - before) / ((performance.now() - started) / 1000);
    console.log(`    server CPU over warm-up and run: ${(100 * busy).toFixed(0)} % of one core`);
  }
} finally {
  await server.stop();
  await target.drop();
}
