/**
 * The benchmark's knobs, read once from the environment. Defaults keep a full run under 5 minutes
 * on a small machine; shorter values give a quick smoke run (e.g. BENCH_SECONDS=2 BENCH_SCALE_SESSIONS=100000).
 */
import type { SigningAlg } from "../server/core/signing-keys";

const int = (name: string, fallback: number, min = 0): number => {
  const text = process.env[name];
  const value = text === undefined || text === "" ? fallback : Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}`);
  return value;
};

const cores = navigator.hardwareConcurrency;

export const settings = {
  /** Measured seconds per workload (wrk takes whole seconds). */
  seconds: int("BENCH_SECONDS", 3, 1),
  /** Warm-up seconds before each measurement, same script, results discarded (JIT, page cache). */
  warmupSeconds: int("BENCH_WARMUP_SECONDS", 1, 1),
  connections: int("BENCH_CONNECTIONS", 50, 1),
  /**
   * wrk threads. One wrk thread drives far more than one Bun process answers, and every core the
   * load generator takes is a core the server cannot use: a quarter of the cores, at least one.
   */
  wrkThreads: int("BENCH_WRK_THREADS", Math.max(1, Math.min(4, Math.floor(cores / 4))), 1),
  /** Seconds per in-process ceiling measurement (signing, hashing, compare-and-swap). */
  ceilingSeconds: int("BENCH_CEILING_SECONDS", 1, 1),
  /** Sessions preloaded for the scale section (0 skips it). */
  scaleSessions: int("BENCH_SCALE_SESSIONS", 1_000_000, 0),
  /** The server's LOG_LEVEL: `info` (one line per request) is how it runs by default. */
  logLevel: process.env.BENCH_LOG_LEVEL || "info",
  /** JWT_ALG of the server and of the signing ceiling. */
  jwtAlg: (process.env.BENCH_JWT_ALG || "EdDSA") as SigningAlg,
  /** When set, every server runs with `bun --cpu-prof` and writes its profile into this folder. */
  cpuProfileDir: process.env.BENCH_CPU_PROF || null,
  /** Sections to leave out: any of sqlite-full,sqlite-normal,postgres,redis,hybrid,scale,quiet,relay,peer,verifier. */
  skip: new Set(
    (process.env.BENCH_SKIP ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ),
};

export type Settings = typeof settings;
