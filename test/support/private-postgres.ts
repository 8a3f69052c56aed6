/**
 * A PostgreSQL server of a test's own: `initdb` + `pg_ctl` from the installed binaries, on a free
 * 127.0.0.1 port with its data in a temporary folder, so a test can stop it fast, restart it,
 * SIGKILL it or freeze it (SIGSTOP of the postmaster and every backend) without touching the
 * machine's server. PostgreSQL refuses to run as root, so it runs as the `postgres` user then.
 */
import { chownSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "bun";
import { tempDir } from "./core";
import { freePort } from "./server";

const PG_ROOT = "/usr/lib/postgresql";

export interface PrivatePostgres {
  port: number;
  /** A URL of database `postgres` on it, for DATABASE_URL. */
  url: string;
  /** Start again on the same port and data (after stop or kill); asynchronous, so a caller keeps serving meanwhile. */
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: every connection is closed at once. */
  stopFast(): Promise<void>;
  /** SIGKILL of the postmaster and all its backends, as a crash of its machine would. */
  kill(): void;
  /** SIGSTOP of the postmaster and all its backends: sockets stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** Stop it whatever its state and remove its folder. Call it in afterAll. */
  cleanup(): void;
}

function binary(name: string): string {
  const versions = readdirSync(PG_ROOT).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${PG_ROOT}`);
  return join(PG_ROOT, versions[0]!, "bin", name);
}

/** A PostgreSQL program's command line, run as `postgres` when we are root (PostgreSQL refuses root). */
function asPostgres(args: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...args] : args;
}

/**
 * Runs a PostgreSQL program without blocking this process's event loop (a caller may be serving
 * traffic while the server starts or stops); throws with its output on failure.
 */
async function run(args: string[]): Promise<void> {
  const child = spawn(asPostgres(args), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`${args.join(" ")} failed (${code}):\n${out}${err}`);
}

/** The postmaster and every process it started (backends, checkpointer, WAL writer …). */
function serverPids(dataDir: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return [];
  }
  const children = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // Field 4 of /proc/PID/stat is the parent pid (after the command in parentheses).
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  }
}

/**
 * `settings`: more server options after the defaults (later `-c` wins), e.g. "-c fsync=on" for a
 * benchmark that counts fsyncs; tests keep fsync off for speed.
 */
export async function startPrivatePostgres(settings = ""): Promise<PrivatePostgres> {
  const port = await freePort();
  const root = tempDir("session-private-pg-");
  const dataDir = join(root, "data");
  if (process.getuid?.() === 0) {
    const postgres = spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
    const group = spawnSync(["id", "-g", "postgres"]).stdout.toString().trim();
    chownSync(root, Number(postgres), Number(group));
  }
  await run([binary("initdb"), "-D", dataDir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off ${settings}`;
  const start = () =>
    run([binary("pg_ctl"), "-D", dataDir, "-l", join(root, "server.log"), "-o", options, "-w", "start"]);
  await start();
  let frozen: number[] = [];
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stopFast: () => run([binary("pg_ctl"), "-D", dataDir, "-m", "fast", "-w", "stop"]),
    kill: () => signal(serverPids(dataDir), "SIGKILL"),
    freeze: () => {
      frozen = serverPids(dataDir);
      signal(frozen, "SIGSTOP");
    },
    thaw: () => {
      signal(frozen, "SIGCONT");
      frozen = [];
    },
    cleanup: () => {
      signal(frozen, "SIGCONT");
      signal(serverPids(dataDir), "SIGKILL");
      rmSync(root, { recursive: true, force: true });
    },
  };
}
