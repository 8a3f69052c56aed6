/** What the figures were measured on, for the report. */
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import type { Machine } from "./results";
import { wrkVersion } from "./tools";

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    bun: Bun.version,
    wrk: await wrkVersion(),
  };
}
