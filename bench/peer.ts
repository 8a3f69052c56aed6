/**
 * This service against panva's oidc-provider (issue 18), on the same machine in one sitting: for
 * refresh (rotation + EdDSA JWT), validate / introspection (RFC 7662) and revoke (RFC 7009), the
 * three sides of peer-sides.ts measured in interleaved rounds — round 1 peer-SQLite, ours,
 * peer-memory; round 2 the peers swapped; and so on — so the machine's drift falls on all alike.
 * Each side's figure is the best of its rounds; the ratios are ours / peer. Every run is checked
 * against the stores afterwards (peer-sides.ts); a check that fails stops the benchmark.
 * Settings: bench/PEER.md. Alone: `bun bench/peer.ts [--short] [refresh|validate|revoke …]`.
 */
import { join } from "node:path";
import { counts, type LoadResult, runWrk } from "./load";
import { line } from "./measure";
import { oursSide, type PeerWorkload, peerSide, type Seeded, type Side, type SideKey } from "./peer-sides";
import { cleanUp, installCleanup, interrupted } from "./processes";
import type { PeerFigure, PeerRun } from "./results";
import { settings } from "./settings";
import { ensureTools } from "./tools";

export const PEER_WORKLOADS: PeerWorkload[] = ["refresh", "validate", "revoke"];
/** Interleaved rounds (BENCH_PEER_ROUNDS); each side's figure is the best of them. */
export const PEER_ROUNDS = Number(process.env.BENCH_PEER_ROUNDS || 2);
/** Requests/s assumed for sizing a side's first token pool, before any figure of it is known. */
const FIRST_GUESS = 10_000;
/**
 * Tokens seeded for a measured run: this many times what the best rate seen so far (warm-up or
 * earlier round) would spend, plus a margin; a run that still runs short is measured once more.
 */
const POOL_FACTOR = 2.5;

export interface PeerOptions {
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  workloads: PeerWorkload[];
}

export const peerVersion = async () =>
  (
    (await Bun.file(join(import.meta.dir, "..", "node_modules/oidc-provider/package.json")).json()) as {
      version: string;
    }
  ).version;

/** Round r's order: the peers take turns before and after this service. */
const orderOf = (round: number, sides: Side[]) => {
  const [sqlite, ours, memory] = sides;
  return round % 2 === 0 ? [sqlite!, ours!, memory!] : [memory!, ours!, sqlite!];
};

export async function runPeer(options: PeerOptions): Promise<PeerRun> {
  const { seconds, warmupSeconds } = options;
  const sides: Side[] = [];
  try {
    sides.push(await peerSide("sqlite"), await oursSide(), await peerSide("memory"));
    const best = new Map<string, number>();
    const runs: PeerFigure[] = [];
    const measure = async (side: Side, workload: PeerWorkload, round: number): Promise<PeerFigure> => {
      const known = `${side.key}/${workload}`;
      const guess = best.get(known) ?? FIRST_GUESS;
      const warmSeed = await side.seed(workload, Math.ceil(guess * warmupSeconds * 1.5) + 500);
      const run = (seed: typeof warmSeed, s: number) =>
        runWrk({ url: side.url, script: "compare", args: side.args(workload, seed), seconds: s });
      const warm = await run(warmSeed, warmupSeconds);
      let rate = Math.max(warm.rps, guess === FIRST_GUESS ? 0 : guess);
      let result: LoadResult;
      let seeded: Seeded;
      for (let attempt = 0; ; attempt++) {
        seeded = await side.seed(workload, Math.ceil(rate * seconds * POOL_FACTOR) + 2_000);
        await side.mark();
        result = await run(seeded, seconds);
        if (result.exhausted === 0 || attempt === 1) break;
        rate = result.rps * 2; // ran past its pool: once more with room for twice that rate
      }
      const checked = await side.check(workload, seeded, result);
      best.set(known, Math.max(best.get(known) ?? 0, result.rps));
      const figure: PeerFigure = { ...result, side: side.key, workload, round, counts: counts(result), checked };
      console.log(`    ${line(`${side.key} ${workload}`.padEnd(20), result)}`);
      runs.push(figure);
      return figure;
    };

    for (let round = 0; round < options.rounds; round++) {
      console.log(`  round ${round + 1} of ${options.rounds}`);
      for (const workload of options.workloads) {
        for (const side of orderOf(round, sides)) await measure(side, workload, round + 1);
      }
    }

    const pick = (workload: PeerWorkload, key: SideKey) => {
      const mine = runs.filter((f) => f.workload === workload && f.side === key);
      const counting = mine.filter((f) => f.counts);
      return (counting.length > 0 ? counting : mine).reduce((a, b) => (b.rps > a.rps ? b : a));
    };
    const ratio = (a: PeerFigure, b: PeerFigure) => (a.counts && b.counts ? a.rps / b.rps : null);
    const workloads = options.workloads.map((workload) => {
      const ours = pick(workload, "ours");
      const sqlite = pick(workload, "peer-sqlite");
      const memory = pick(workload, "peer-memory");
      return { workload, ours, sqlite, memory, ratioSqlite: ratio(ours, sqlite), ratioMemory: ratio(ours, memory) };
    });
    const result: PeerRun = {
      peer: `oidc-provider ${await peerVersion()}`,
      rounds: options.rounds,
      seconds,
      warmupSeconds,
      workloads,
      runs,
    };
    for (const text of summary(result)) console.log(`    ${text}`);
    return result;
  } finally {
    for (const side of sides) await side.stop();
  }
}

const x = (r: number | null) => (r === null ? "✗ (a figure does not count)" : `${r.toFixed(2)}×`);

/** One line per workload: both req/s and p99, the ratios. */
export function summary(run: PeerRun): string[] {
  return run.workloads.map(
    (w) =>
      `${w.workload.padEnd(8)} ours ${w.ours.rps.toFixed(0)}/s p99 ${w.ours.p99Ms.toFixed(1)} ms · ` +
      `SQLite ${w.sqlite.rps.toFixed(0)}/s p99 ${w.sqlite.p99Ms.toFixed(1)} ms · ` +
      `memory ${w.memory.rps.toFixed(0)}/s p99 ${w.memory.p99Ms.toFixed(1)} ms · ` +
      `ours/SQLite ${x(w.ratioSqlite)}, ours/memory ${x(w.ratioMemory)}`,
  );
}

/** `bun bench/peer.ts [--short] [workload …]`: the comparison alone, printed, nothing written. */
async function main(): Promise<void> {
  installCleanup();
  await ensureTools(["wrk"]);
  const args = process.argv.slice(2);
  const short = args.includes("--short");
  const named = args.filter((a) => !a.startsWith("--")) as PeerWorkload[];
  for (const name of named) if (!PEER_WORKLOADS.includes(name)) throw new Error(`unknown workload ${name}`);
  const options: PeerOptions = {
    seconds: short ? 2 : settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    rounds: short ? 1 : PEER_ROUNDS,
    workloads: named.length > 0 ? named : PEER_WORKLOADS,
  };
  const started = performance.now();
  console.log(
    `peer comparison: ${options.workloads.join(", ")}; ${options.rounds} round(s) of ${options.warmupSeconds} s warm-up + ${options.seconds} s, ${settings.connections} connections`,
  );
  await runPeer(options);
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (!interrupted()) console.error("peer comparison failed:", error);
    process.exitCode = interrupted() ? 130 : 1;
  } finally {
    await cleanUp();
  }
  process.exit();
}
