/**
 * Everything the benchmark starts must stop, also on an error or Ctrl-C. Helpers (startServer,
 * startNats, benchRelay) spawn processes we hold no handle to, so cleanup walks /proc for every
 * descendant of this process and kills each by its pid: nothing else on the machine is touched.
 */

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { type Subprocess, spawn } from "bun";

const tempDirs = new Set<string>();
/** Asynchronous undo steps (dropping a scratch PostgreSQL database) for an interrupted run. */
const undoSteps = new Set<() => Promise<void>>();

/** Runs `undo` at cleanUp (error or signal) unless the returned function was called first. */
export function undoOnInterrupt(undo: () => Promise<void>): () => void {
  undoSteps.add(undo);
  return () => undoSteps.delete(undo);
}

/** Removes the folder at cleanup unless it was removed before. */
export function removeAtExit(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

export function removeNow(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function parentOf(pid: number): number | null {
  try {
    // Field 4 of /proc/<pid>/stat, after the command name in parentheses (which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** Pids of all live descendants of this process, children first. */
export function descendants(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = parentOf(pid);
    if (parent !== null) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

/** SIGKILLs every descendant and removes the temporary folders. Synchronous, so it also works in "exit". */
export function killAndRemove(): void {
  for (const pid of descendants()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let cleaning: Promise<void> | null = null;
let interruptedBy: string | null = null;

/**
 * Processes and folders first (synchronous), then the undo steps, each given a few seconds.
 * One shared promise: the signal handler and main's `finally` both wait for the same cleanup.
 */
export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    killAndRemove();
    const steps = [...undoSteps];
    undoSteps.clear();
    await Promise.all(steps.map((step) => Promise.race([step().catch(() => {}), Bun.sleep(5_000)])));
  })();
  return cleaning;
}

/** The signal that stopped the run, if one did (its failures are then expected, not reported). */
export const interrupted = () => interruptedBy;

/** Ctrl-C, SIGTERM and any exit run the cleanup; `program` names who is stopping in the message. */
export function installCleanup(program = "bench"): void {
  process.on("exit", killAndRemove);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, async () => {
      interruptedBy = signal;
      console.error(`\n${program}: ${signal}, stopping every process it started`);
      await cleanUp();
      process.exit(130);
    });
  }
}

/** Spawns a process and waits until its output contains `readyText`. */
export async function spawnUntilReady(
  cmd: string[],
  readyText: string,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<Subprocess<"ignore", "pipe", "pipe">> {
  const proc = spawn(cmd, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream)
      if (!output.includes(readyText)) output += decoder.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + timeoutMs;
  while (!output.includes(readyText)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${cmd.join(" ")} did not start:\n${output}`);
    }
    await Bun.sleep(20);
  }
  return proc;
}
