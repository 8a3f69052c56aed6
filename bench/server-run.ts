/**
 * The real server (test/support/server.ts startServer: `bun server/main.ts` with the test
 * SECRET_KEY and service key) on one store, with the benchmark's settings added.
 */
import { join } from "node:path";
import { type RunningServer, startServer } from "../test/support/server";
import { BENCH_DPOP_MAX_AGE, BENCH_PUBLIC_URL } from "./dpop-proofs";
import { residentMemory } from "./memory";
import type { MemoryFigure } from "./results";
import { settings } from "./settings";
import type { StoreTarget } from "./stores";

/**
 * `overrides`: settings on top of the benchmark's (the quiet-log section sets LOG_LEVEL).
 * `root`: another checkout's server instead of this one (probe.ts PROBE_BASELINE).
 */
export async function startBenchServer(
  target: StoreTarget,
  overrides: Record<string, string> = {},
  root?: string,
): Promise<RunningServer> {
  const env: Record<string, string> = {
    ...target.env,
    LOG_LEVEL: settings.logLevel,
    JWT_ALG: settings.jwtAlg,
    // The base of DPoP proofs' htu, and an age limit no run reaches (refresh-bound's proofs are made ahead).
    PUBLIC_URL: BENCH_PUBLIC_URL,
    DPOP_PROOF_MAX_AGE: BENCH_DPOP_MAX_AGE,
    ...overrides,
  };
  // BUN_OPTIONS passes flags to the `bun` that startServer spawns.
  if (settings.cpuProfileDir) {
    env.BUN_OPTIONS = `--cpu-prof --cpu-prof-md --cpu-prof-dir=${settings.cpuProfileDir} --cpu-prof-name=${target.key}-${Date.now()}`;
  }
  // Logs go to a file, as a deployment's would, not through a pipe into a string of the benchmark
  // process (a few hundred MB over a run, read on the CPU that wrk also needs).
  return startServer(target.dir, env, 60_000, join(target.dir, "server.log"), root);
}

export const memoryOf = (server: RunningServer): MemoryFigure => residentMemory(server.proc.pid);
