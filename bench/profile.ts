/**
 * Where a request's CPU time goes in this service (issue 18's method), per workload:
 *   bun bench/profile.ts [validate|refresh|logout|create|me|mix …]      (default: refresh validate logout)
 * For each workload a fresh server on SQLite FULL runs with `bun --cpu-prof` through the usual
 * warm-up and measured run (measure.ts); the number of requests it answered is read from its own
 * /metrics, and the samples of its profile are sorted into the parts of a request below. Prints
 * microseconds of server CPU per request for each part; the profiles stay in BENCH_CPU_PROF (or a
 * temporary folder that is printed). Each sample goes to the first rule that matches a frame of
 * its stack, in the order of PARTS; what none matches is the Elysia pipeline and the handlers'
 * own code, or Bun's HTTP server and runtime when no JavaScript of ours is on the stack.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../test/support/core";
import { casRate, hashRate, jwtRates } from "./ceilings";
import { measureHttpFloor } from "./floor";
import { measureWorkload } from "./measure";
import { cpuSeconds } from "./memory";
import { cleanUp, installCleanup, interrupted } from "./processes";
import { startBenchServer } from "./server-run";
import { settings } from "./settings";
import { sqliteTarget } from "./stores";
import { ensureTools } from "./tools";
import { type Ceilings, WORKLOADS, WorkloadContext, type WorkloadName } from "./workloads";

interface Frame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Rule = (frame: Frame) => boolean;
const inFile =
  (...parts: string[]): Rule =>
  (f) =>
    parts.some((part) => f.url.includes(part));
const fn =
  (file: string, name: string): Rule =>
  (f) =>
    f.url.includes(file) && f.functionName === name;
const named = (...names: string[]): Rule => {
  const set = new Set(names);
  return (f) => set.has(f.functionName) && !f.url;
};
const any =
  (...rules: Rule[]): Rule =>
  (f) =>
    rules.some((rule) => rule(f));

/** The parts of a request, most specific first (a log line's JSON is the log line's). */
const PARTS: Array<[string, Rule]> = [
  ["lifecycle log line + outcome metrics (observer.ts)", inFile("server/observer.ts")],
  ["HTTP metrics (prom-client)", inFile("prom-client", "server/metrics.ts")],
  [
    "request log line (serve.ts record: fields, requestIP, pino)",
    any(fn("server/http/serve.ts", "record"), inFile("/pino/", "server/logger.ts")),
  ],
  ["log writes (sonic-boom, both kinds of line)", inFile("sonic-boom")],
  ["body reading + JSON.parse (body.ts)", inFile("server/http/body.ts")],
  [
    "hashing (HMAC-SHA256)",
    inFile("server/core/refresh-tokens.ts", "server/core/service-keys.ts", "server/core/secrets.ts"),
  ],
  ["signing (EdDSA access token)", inFile("server/core/jws.ts", "server/core/access-tokens.ts")],
  ["store (SQLite statements incl. COMMIT + fsync, group commit, Drizzle)", inFile("db/sqlite/", "drizzle-orm")],
  ["JSON.stringify / Response.json of answers", named("stringify", "json")],
  [
    "handlers' and core's own code",
    inFile(
      "server/http/routes/",
      "server/core/",
      "server/http/auth.ts",
      "server/http/errors.ts",
      "server/http/models.ts",
    ),
  ],
  [
    "Elysia pipeline (routing, hooks, TypeBox validation, response mapping)",
    // Elysia compiles its request handler into functions without a file: `handle`, `map`.
    any(inFile("/elysia/", "@sinclair/typebox"), named("handle", "map")),
  ],
  ["serve.ts wrapper (request id, headers, in-flight count)", inFile("server/http/serve.ts")],
];
const REST = "Bun.serve, runtime and native code without our frames";
/** A request is being served when a sample's stack holds serve.ts's fetch: the window counted. */
const SERVING = fn("server/http/serve.ts", "fetch");

/**
 * Microseconds of the JavaScript thread per part, over the samples from the first to the last one
 * inside serve.ts's fetch (startup and shutdown are left out). Bun's profiler takes no sample while
 * the thread waits in the event loop, so a sample's weight is its time delta capped at twice the
 * median delta (a longer delta is mostly idle); a blocking call (an fsync inside COMMIT) is sampled.
 */
export function partsOf(profile: CpuProfile): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stackOf = (id: number): Frame[] => {
    const stack: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
    return stack;
  };
  const partOfNode = new Map<number, string>();
  const classify = (id: number): string => {
    let part = partOfNode.get(id);
    if (part === undefined) {
      const stack = stackOf(id);
      part = PARTS.find(([, rule]) => stack.some(rule))?.[0] ?? REST;
      partOfNode.set(id, part);
    }
    return part;
  };
  const serving = profile.samples.map((id) => stackOf(id).some(SERVING));
  const first = serving.indexOf(true);
  const last = serving.lastIndexOf(true);
  const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
  const cap = 2 * (deltas[deltas.length >> 1] ?? 1000);
  const totals = new Map<string, number>();
  for (let i = first; i >= 0 && i <= last; i++) {
    const part = classify(profile.samples[i]!);
    totals.set(part, (totals.get(part) ?? 0) + Math.min(profile.timeDeltas[i] ?? 0, cap));
  }
  return totals;
}

/** http_requests_total summed over its labels. */
async function requestsAnswered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("http_requests_total{"))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

async function profileWorkload(name: WorkloadName, ceilings: Ceilings, dir: string): Promise<void> {
  const target = sqliteTarget("FULL");
  await (await target.open()).close();
  const label = `${name}-${Date.now()}.cpuprofile`;
  const before = new Set(readdirSync(dir));
  // With BENCH_CPU_PROF set, server-run.ts names the profile itself: the new file is the one.
  const server = await startBenchServer(target, {
    BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-name=${label}`,
  });
  let requests = 0;
  let cpu = 0;
  try {
    const ctx = new WorkloadContext(target);
    const workload = WORKLOADS.find((w) => w.name === name)!;
    const before = cpuSeconds(server.proc.pid);
    await measureWorkload(server.url, ctx, workload, ceilings);
    cpu = cpuSeconds(server.proc.pid) - before;
    requests = (await requestsAnswered(server.url)) - 1; // not this /metrics request itself
  } finally {
    await server.stop();
    await target.drop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile") && !before.has(f));
  if (!file) throw new Error(`no profile of ${name} in ${dir}`);
  const parts = partsOf(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile);
  const busy = [...parts.values()].reduce((a, b) => a + b, 0);
  console.log(
    `  ${name}: ${requests} requests; per request ${(busy / requests).toFixed(1)} µs of the JavaScript thread ` +
      `(profile), ${((cpu * 1e6) / requests).toFixed(1)} µs of process CPU, all threads (/proc); ${join(dir, file)}`,
  );
  for (const [part, us] of [...parts].sort((a, b) => b[1] - a[1])) {
    console.log(
      `    ${(us / requests).toFixed(1).padStart(6)} µs  ${((100 * us) / busy).toFixed(0).padStart(3)} %  ${part}`,
    );
  }
}

async function main(): Promise<void> {
  installCleanup();
  await ensureTools(["wrk"]);
  const names = (
    process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["refresh", "validate", "logout"]
  ) as WorkloadName[];
  for (const name of names) if (!WORKLOADS.some((w) => w.name === name)) throw new Error(`unknown workload ${name}`);
  const dir = settings.cpuProfileDir ?? tempDir("bench-profiles-");
  // The ceilings only size the token pools here.
  const target = sqliteTarget("FULL");
  await (await target.open()).close();
  const jwt = await jwtRates(target, settings.ceilingSeconds);
  const ceilings: Ceilings = {
    http: (await measureHttpFloor()).rps,
    hash: await hashRate(settings.ceilingSeconds),
    sign: jwt.sign,
    verify: jwt.verify,
    cas: await casRate(target, settings.ceilingSeconds, settings.connections),
  };
  await target.drop();
  for (const name of names) await profileWorkload(name, ceilings, dir);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (!interrupted()) console.error("profile failed:", error);
    process.exitCode = interrupted() ? 130 : 1;
  } finally {
    await cleanUp();
  }
  process.exit();
}
