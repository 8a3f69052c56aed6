/**
 * A quick look at a few workloads on one server, for profiling a change without the whole
 * `bun run bench`:   bun bench/probe.ts validate me      (BENCH_CPU_PROF=dir adds a CPU profile)
 * PROBE_STORE: sqlite-full (default), sqlite-normal or postgres. The ceilings and the HTTP floor
 * are measured first, as in the full run; the figures are printed, not written anywhere.
 */
import { casRate, hashRate, jwtRates } from "./ceilings";
import { measureHttpFloor } from "./floor";
import { measureWorkload } from "./measure";
import { cpuSeconds } from "./memory";
import { installCleanup } from "./processes";
import { startBenchServer } from "./server-run";
import { settings } from "./settings";
import { postgresTarget, type StoreTarget, sqliteTarget } from "./stores";
import { ensureTools } from "./tools";
import { WORKLOADS, WorkloadContext } from "./workloads";

/** PostgresStore's default pool, as in main.ts. */
const POSTGRES_POOL = 10;

const store = process.env.PROBE_STORE ?? "sqlite-full";
const freshTarget = async (): Promise<StoreTarget> => {
  if (store !== "postgres") return sqliteTarget(store === "sqlite-normal" ? "NORMAL" : "FULL");
  const target = await postgresTarget();
  if ("skipped" in target) throw new Error(target.skipped);
  return target;
};
/** Opens the store once (migrations), runs `use`, drops the target. */
async function withTarget<T>(use: (target: StoreTarget) => Promise<T>): Promise<T> {
  const target = await freshTarget();
  try {
    await (await target.open()).close();
    return await use(target);
  } finally {
    await target.drop();
  }
}

installCleanup();
await ensureTools(["wrk"]);
const names = process.argv.slice(2);
const hash = await hashRate(settings.ceilingSeconds);
const jwt = await withTarget((t) => jwtRates(t, settings.ceilingSeconds));
const cas = await withTarget((t) =>
  casRate(t, settings.ceilingSeconds, store === "postgres" ? POSTGRES_POOL : settings.connections),
);
const floor = await measureHttpFloor();
const ceilings = { http: floor.rps, hash, sign: jwt.sign, verify: jwt.verify, cas };

await withTarget(async (target) => {
  const server = await startBenchServer(target);
  try {
    const ctx = new WorkloadContext(target);
    for (const workload of WORKLOADS.filter((w) => names.length === 0 || names.includes(w.name))) {
      const before = cpuSeconds(server.proc.pid);
      const started = performance.now();
      await measureWorkload(server.url, ctx, workload, ceilings);
      const busy = (cpuSeconds(server.proc.pid) - before) / ((performance.now() - started) / 1000);
      console.log(`    server CPU over seeding, warm-up and run: ${(100 * busy).toFixed(0)} % of one core`);
    }
  } finally {
    await server.stop();
  }
});
