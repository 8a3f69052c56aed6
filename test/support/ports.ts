/**
 * Ports for the servers tests start, safe when test files run in parallel worker processes. A
 * port from the kernel (`port: 0`) is released before the server that gets it binds it, so another
 * process could be handed the same one meanwhile, and the kernel gives ports of its ephemeral range
 * to outgoing connections too. These come from below that range (20000–32767) and are reserved
 * machine-wide by an exclusively created file naming the reserving process, until it exits.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FIRST = 20_000;
const COUNT = 12_768;
const RESERVATIONS = join(tmpdir(), "session-service-test-ports");
const reservedHere: string[] = [];

process.on("exit", () => {
  for (const file of reservedHere) rmSync(file, { force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reserves `port` for this process; false when a live process holds it (a dead one's is taken over). */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    const owner = Number(readFileSync(file, "utf8"));
    if (owner === process.pid || (owner > 0 && alive(owner))) return false;
    writeFileSync(file, String(process.pid));
  }
  reservedHere.push(file);
  return true;
}

function bindable(port: number): boolean {
  try {
    Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response() }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/** A 127.0.0.1 port nothing listens on and no other test process was given. */
export async function freePort(): Promise<number> {
  mkdirSync(RESERVATIONS, { recursive: true });
  for (;;) {
    const port = FIRST + Math.floor(Math.random() * COUNT);
    if (reserve(port) && bindable(port)) return port;
  }
}
