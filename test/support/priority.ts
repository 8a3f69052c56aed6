/**
 * Scheduling priority for a test that measures latency while the rest of the suite keeps both CPUs
 * busy: its server and its own process run at a lower nice value for the measurement, so that what
 * it compares is the server's behaviour and not the load of the other test files. Linux keeps a
 * nice value per thread, so every thread of the process is changed (threads made later inherit it
 * from the thread that makes them). Without the permission (not root) nothing changes: false.
 */
import { readdirSync } from "node:fs";
import { setPriority } from "node:os";

export function setProcessNice(pid: number, nice: number): boolean {
  try {
    for (const thread of readdirSync(`/proc/${pid}/task`)) setPriority(Number(thread), nice);
    return true;
  } catch {
    return false;
  }
}
