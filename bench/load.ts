/**
 * Drives a server with wrk, in its own process, over 127.0.0.1.
 *
 * Why wrk: it is a C event loop with one Lua state per thread, so one thread generates far more
 * requests than one Bun server answers while taking little CPU from it, and its latency histogram
 * is exact. An npm generator (autocannon under node) is single-threaded JavaScript whose own
 * ceiling sits near a Bun server's HTTP floor, so it would measure itself.
 */

import { join } from "node:path";
import { spawn } from "bun";
import { settings } from "./settings";

const LUA_DIR = join(import.meta.dir, "lua");

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * Non-2xx answers (wrk counts status ≥ 400), socket errors and timeouts, and answers a script
   * checks and finds wrong (compare.lua: an introspection that says inactive).
   */
  errors: number;
  /** Requests that found their thread's share of distinct tokens used up (the pool was too small). */
  exhausted: number;
}

export interface LoadRun {
  /** http://127.0.0.1:port; nothing else is ever a target. */
  url: string;
  /** Lua script name under bench/lua, without .lua. */
  script: string;
  /** Script arguments after the thread count. */
  args: string[];
  seconds: number;
}

export async function runWrk({ url, script, args, seconds }: LoadRun): Promise<LoadResult> {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`bench sends traffic only to 127.0.0.1, not ${url}`);
  const threads = Math.min(settings.wrkThreads, settings.connections);
  const cmd = [
    "wrk",
    `--threads=${threads}`,
    `--connections=${settings.connections}`,
    `--duration=${seconds}s`,
    "--timeout=10s",
    `--script=${script}.lua`,
    url,
    "--",
    String(threads),
    ...args,
  ];
  // cwd = bench/lua so that `require "common"` finds common.lua.
  const proc = spawn(cmd, { cwd: LUA_DIR, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (proc.exitCode !== 0 || !line) throw new Error(`wrk ${script} failed (exit ${proc.exitCode}):\n${out}\n${err}`);
  const r = JSON.parse(line.slice("BENCH_RESULT ".length)) as Record<string, number>;
  const secondsRun = r.duration_us / 1e6;
  return {
    requests: r.requests,
    seconds: secondsRun,
    rps: r.requests / secondsRun,
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    maxMs: r.max_us / 1000,
    errors: r.status_errors + r.socket_errors + (r.wrong ?? 0),
    exhausted: r.exhausted,
  };
}

/** A figure counts only without errors and without reused or made-up tokens. */
export const counts = (r: LoadResult) => r.errors === 0 && r.exhausted === 0;
