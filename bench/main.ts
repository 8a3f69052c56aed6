/**
 * `bun run bench` (issue 7): the service as users run it — the real server on SQLite FULL, SQLite
 * NORMAL and PostgreSQL, driven by wrk from another process over 127.0.0.1 — next to the ceilings
 * of this machine measured in the same run, a 1M-session scale check, and the outbox relay
 * benchmark (issue 3), and the verifier library (issue 13). Writes bench/results.md, results.json and results.png.
 * Knobs: bench/settings.ts (BENCH_SECONDS, BENCH_SCALE_SESSIONS, BENCH_SKIP, …).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../test/support/core";
import { NATS_SERVER } from "../test/support/nats";
import { casRate, hashRate, jwtRates } from "./ceilings";
import { writeChart } from "./chart";
import { measureHttpFloor } from "./floor";
import { describeMachine } from "./machine";
import { PEER_ROUNDS, PEER_WORKLOADS, runPeer } from "./peer";
import { cleanUp, installCleanup, interrupted, removeAtExit } from "./processes";
import { QUIET_LOG_LEVEL, runQuiet } from "./quiet";
import { benchRelay } from "./relay";
import { renderMarkdown } from "./report";
import type { Results, StoreRun } from "./results";
import { runScale } from "./scale";
import { settings } from "./settings";
import { runStore } from "./store-run";
import { hybridTarget, postgresTarget, redisTarget, type StoreKey, type StoreTarget, sqliteTarget } from "./stores";
import { checkTargets, unreachableTargets } from "./targets";
import { ensureTools } from "./tools";
import { benchVerifier, describeVerifier } from "./verifier";

/** PostgresStore's default pool: that many rotations can be in flight in the server. */
const POSTGRES_POOL = 10;

const notes: string[] = [];
const note = (text: string) => {
  notes.push(text);
  console.log(`  note: ${text}`);
};
const wanted = (section: string) => !settings.skip.has(section);

/** A fresh store for each use (ceiling, workloads): the figures never share rows. */
async function freshTarget(key: StoreKey): Promise<StoreTarget | null> {
  if (key === "sqlite-full") return sqliteTarget("FULL");
  if (key === "sqlite-normal") return sqliteTarget("NORMAL");
  const target = await { postgres: postgresTarget, redis: redisTarget, hybrid: hybridTarget }[key]();
  if ("skipped" in target) {
    note(`${key} skipped: ${target.skipped}`);
    return null;
  }
  return target;
}

async function withTarget<T>(key: StoreKey, use: (target: StoreTarget) => Promise<T>): Promise<T | null> {
  const target = await freshTarget(key);
  if (!target) return null;
  try {
    return await use(target);
  } finally {
    await target.drop();
  }
}

async function main(): Promise<void> {
  installCleanup();
  await ensureTools(["wrk", "rsvg-convert"]);
  const startedAt = new Date();
  const machine = await describeMachine();
  console.log(`bench: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, ${machine.wrk}`);
  const stores = (["sqlite-full", "sqlite-normal", "postgres", "redis", "hybrid"] as const).filter(wanted);

  console.log("ceilings (in process, one thread)");
  const hash = await hashRate(settings.ceilingSeconds);
  const jwt = (await withTarget("sqlite-full", async (t) => {
    await (await t.open()).close();
    return jwtRates(t, settings.ceilingSeconds);
  }))!;
  const cas: Partial<Record<StoreKey, number>> = {};
  for (const key of stores) {
    const rate = await withTarget(key, async (t) => {
      await (await t.open()).close(); // migrations before seeding
      const pooled = key === "postgres" || key === "hybrid";
      return casRate(t, settings.ceilingSeconds, pooled ? POSTGRES_POOL : settings.connections);
    });
    if (rate !== null) cas[key] = rate;
  }
  console.log(
    `    hash ${hash.toFixed(0)}/s  sign ${jwt.sign.toFixed(0)}/s  verify ${jwt.verify.toFixed(0)}/s  ` +
      Object.entries(cas)
        .map(([k, v]) => `CAS ${k} ${v!.toFixed(0)}/s`)
        .join("  "),
  );
  console.log("HTTP floor");
  const http = await measureHttpFloor();
  const base = { http: http.rps, hash, sign: jwt.sign, verify: jwt.verify };

  console.log("workloads");
  const runs: StoreRun[] = [];
  for (const key of stores) {
    if (cas[key] === undefined) continue;
    const run = await withTarget(key, (t) => runStore(t, { ...base, cas: cas[key]! }));
    if (run) runs.push(run);
  }

  let scale = null;
  if (wanted("scale") && settings.scaleSessions > 0 && cas["sqlite-full"] !== undefined) {
    console.log(`scale: ${settings.scaleSessions} sessions preloaded (SQLite FULL)`);
    scale = await runScale({ ...base, cas: cas["sqlite-full"] });
  }

  let quiet = null;
  if (wanted("quiet") && cas["sqlite-full"] !== undefined) {
    console.log(
      `request log lines: validate and me, SQLite FULL, LOG_LEVEL=${settings.logLevel} and ${QUIET_LOG_LEVEL} in turn`,
    );
    quiet = await runQuiet({ ...base, cas: cas["sqlite-full"] });
  }

  let relay = null;
  if (wanted("relay") && existsSync(NATS_SERVER)) {
    console.log("outbox relay (issue 3)");
    relay = await benchRelay();
    console.log(
      `    raw JetStream ${relay.rawPerSecond.toFixed(0)}/s, relay ${relay.relayPerSecond.toFixed(0)}/s, logout → event p99 ${relay.latencyP99Ms.toFixed(1)} ms`,
    );
  } else if (wanted("relay")) {
    note(`relay section skipped: ${NATS_SERVER} is not installed`);
  }
  let peer = null;
  if (wanted("peer")) {
    console.log(
      `this service against oidc-provider (issue 18): ${PEER_ROUNDS} interleaved rounds of refresh, validate / introspection, revoke`,
    );
    peer = await runPeer({
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      rounds: PEER_ROUNDS,
      workloads: PEER_WORKLOADS,
    });
  }
  let verifier = null;
  if (wanted("verifier") && existsSync(NATS_SERVER)) {
    console.log("verifier library (issue 13)");
    verifier = await benchVerifier();
    for (const line of describeVerifier(verifier)) console.log(`    ${line}`);
  } else if (wanted("verifier")) {
    note(`verifier section skipped: ${NATS_SERVER} is not installed`);
  }
  if (settings.cpuProfileDir) note(`CPU profiles of the servers in ${settings.cpuProfileDir}`);

  const results: Results = {
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    settings: {
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      connections: settings.connections,
      wrkThreads: settings.wrkThreads,
      ceilingSeconds: settings.ceilingSeconds,
      logLevel: settings.logLevel,
      jwtAlg: settings.jwtAlg,
      scaleSessions: settings.scaleSessions,
    },
    ceilings: { http, hash, sign: jwt.sign, verify: jwt.verify, cas },
    stores: runs,
    scale,
    quiet,
    relay,
    peer,
    verifier,
    notes,
  };
  for (const text of unreachableTargets(results)) note(text);
  const checks = checkTargets(results);
  writeFileSync(join(import.meta.dir, "results.json"), `${JSON.stringify({ ...results, checks }, null, 2)}\n`);
  writeFileSync(join(import.meta.dir, "results.md"), renderMarkdown(results, checks));
  await writeChart(results, join(import.meta.dir, "results.png"), removeAtExit(tempDir("bench-chart-")));

  const missed = checks.filter((c) => !c.pass);
  console.log(`targets: ${checks.length - missed.length} of ${checks.length} met`);
  for (const c of missed) console.log(`    missed  ${c.what}: ${c.value} (target ${c.target})`);
  console.log(`wrote bench/results.md, results.json, results.png in ${results.durationSeconds.toFixed(0)} s`);
}

try {
  await main();
} catch (error) {
  if (!interrupted()) console.error("bench failed:", error);
  process.exitCode = interrupted() ? 130 : 1;
} finally {
  await cleanUp();
}
// Stray handles (a pool, a timer) must not keep a finished benchmark alive.
process.exit();
