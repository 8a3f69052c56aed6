/**
 * A quick look at a few workloads on one server, for profiling a change without the whole
 * `bun run bench`:   bun bench/probe.ts validate me      (BENCH_CPU_PROF=dir adds a CPU profile)
 * PROBE_STORE: sqlite-full (default), sqlite-normal or postgres. The ceilings and the HTTP floor
 * are measured first, as in the full run; the figures are printed, not written anywhere.
 * PROBE_BASELINE=<folder of another checkout> (after `bun install` there): its server and this one
 * run side by side, measured in alternation (PROBE_ROUNDS rounds, default 3, best of each), and
 * each workload's ratio this / baseline is printed — two builds compared in one run.
 */
import { casRate, hashRate, jwtRates } from "./ceilings";
import { measureHttpFloor } from "./floor";
import { measureWorkload } from "./measure";
import { cpuSeconds } from "./memory";
import { installCleanup } from "./processes";
import { startBenchServer } from "./server-run";
import { settings } from "./settings";
import { bestOf, sideBySide } from "./side-by-side";
import { postgresTarget, type StoreTarget, sqliteTarget } from "./stores";
import { ensureTools } from "./tools";
import { WORKLOADS, WorkloadContext, type WorkloadName } from "./workloads";

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

const baseline = process.env.PROBE_BASELINE;
if (baseline) {
  const chosen = names.length > 0 ? (names as WorkloadName[]) : WORKLOADS.map((w) => w.name);
  const rounds = Number(process.env.PROBE_ROUNDS ?? 3);
  console.log(`  side by side, ${rounds} rounds: baseline ${baseline}, then this checkout`);
  const [before, after] = await sideBySide([{ root: baseline }, {}], chosen, ceilings, rounds, freshTarget);
  for (const [i, name] of chosen.entries()) {
    // Each round ran the two servers one right after the other: its ratio is the fairest pairing.
    const ratios = after![i]!.map((a, r) => a.rps / before![i]![r]!.rps);
    const median = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)]!;
    // CPU per request moves less with the machine's load than req/s does (an fsync's wait is not CPU).
    const cpu = after![i]!.map((a, r) => a.cpuUsPerRequest! / before![i]![r]!.cpuUsPerRequest!);
    const cpuMedian = [...cpu].sort((x, y) => x - y)[Math.floor(cpu.length / 2)]!;
    console.log(
      `  ${name}: server CPU per request this / baseline per round ${cpu.map((r) => r.toFixed(3)).join(", ")}; median ${cpuMedian.toFixed(3)}`,
    );
    const [b, a] = [bestOf(before![i]!), bestOf(after![i]!)];
    console.log(
      `  ${name}: ratio this / baseline per round ${ratios.map((r) => r.toFixed(3)).join(", ")}; median ${median.toFixed(3)}`,
    );
    console.log(
      `  ${name}: best of rounds: this ${a.rps.toFixed(0)} req/s, baseline ${b.rps.toFixed(0)} req/s = ${(a.rps / b.rps).toFixed(3)}`,
    );
  }
  process.exit(0);
}

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
