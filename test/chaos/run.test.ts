/**
 * A short fixed-seed `bun run chaos` (25 s of workload) as a real process: it must find no
 * violation, and must really have injected every kind of fault, checked events and deleted users.
 * Two client loops instead of six: it shares the cores with the rest of the suite, whose latency
 * tests must not pay for it. Nothing here depends on timing: the plan injects each kind whatever the machine's speed, and
 * the checks only compare what happened with what the contract allows.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import { FAULT_KINDS } from "../../chaos/faults";
import type { ChaosResult } from "../../chaos/run";
import { tempDir } from "../support/core";
import { PROJECT_ROOT } from "../support/server";

const dir = tempDir("session-chaos-test-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a 25-second chaos run with seed 20261203 finds no violation", async () => {
  const reportFile = join(dir, "report.json");
  const proc = spawn(["bun", join(PROJECT_ROOT, "chaos/main.ts")], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      CHAOS_SECONDS: "25",
      CHAOS_SEED: "20261203",
      CHAOS_LOOPS: "2",
      CHAOS_REPORT_JSON: reportFile,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  // The run bounds itself; this only makes sure a hung run is stopped (SIGTERM: it cleans up after itself).
  const guard = setTimeout(() => proc.kill("SIGTERM"), 400_000);
  const code = await proc.exited;
  clearTimeout(guard);
  const [stdout, stderr] = await output;
  if (code !== 0) console.error(stdout, stderr);
  expect(code).toBe(0);

  const result = JSON.parse(readFileSync(reportFile, "utf8")) as ChaosResult;
  expect(result.violations).toEqual([]);
  for (const kind of FAULT_KINDS) {
    expect(result.faults.filter((fault) => fault.kind === kind && !fault.error).length).toBeGreaterThanOrEqual(1);
  }
  expect(result.counts.sessionsCreated).toBeGreaterThan(0);
  expect(result.counts.outboxRows).toBeGreaterThan(result.counts.sessionsCreated);
  expect(result.counts.streamMessages).toBe(result.counts.outboxRows);
  expect(result.counts.userDeletedPublished).toBeGreaterThanOrEqual(1);
  expect(result.counts.tokensValidated).toBeGreaterThan(0);
  // The report names the seed and no secret: no refresh token (43 base64url characters) in it.
  expect(stdout).toContain("seed 20261203");
  expect(stdout).not.toMatch(/[A-Za-z0-9_-]{43}/);
}, 420_000);
