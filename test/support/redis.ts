/**
 * Redis for tests: logical database 15 of the local server (127.0.0.1:6379), flushed before and
 * after a suite, and throw-away `redis-server` processes on free ports for tests that stop Redis.
 * Tests that need Redis fail, never skip, when it is unreachable.
 */
import { basename } from "node:path";
import { RedisClient, type Subprocess, spawn } from "bun";
import { freePort } from "./server";

/**
 * Each test file that uses the local Redis gets a logical database of its own, so files run in
 * parallel (`bun test --parallel`) never flush each other's data. (Each parallel worker loads this
 * module afresh for its file, so Bun.main names the file; the benchmark uses 11 and 12.)
 */
const DATABASE_OF_FILE: Record<string, number> = {
  "redis.test.ts": 15,
  "redis-ttl.test.ts": 13,
  "redis-server.test.ts": 9,
  "redis-abuse.test.ts": 8,
  "redis-migrate.test.ts": 7,
  "cache.test.ts": 6,
  "server.test.ts": 5,
  "contract-sqlite.test.ts": 4,
  "contract-postgres.test.ts": 3,
  "config.test.ts": 2,
};
export const testRedisDb = (fallback: number) => DATABASE_OF_FILE[basename(Bun.main)] ?? fallback;

export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? `redis://127.0.0.1:6379/${testRedisDb(15)}`;

/** FLUSHDB on the test database; a clear error when Redis is not there. */
export async function flushTestRedis(url = REDIS_TEST_URL): Promise<void> {
  const client = new RedisClient(url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 3000 });
  try {
    await client.connect();
    await client.send("FLUSHDB", []);
  } catch (error) {
    throw new Error(
      `Redis is unreachable at ${new URL(url).host}; these tests need it (${(error as { code?: string }).code ?? error})`,
    );
  } finally {
    client.close();
  }
}

export interface TestRedisServer {
  port: number;
  /** URL of database `db` on it. */
  url(db?: number): string;
  /** SIGKILL, and wait. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its sockets but stops answering. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  restart(): Promise<void>;
  /** Kills it for good: a restart afterwards (from a test body still running) throws. */
  close(): Promise<void>;
}

async function waitForPing(port: number, proc: Subprocess, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new RedisClient(`redis://127.0.0.1:${port}`, {
      autoReconnect: false,
      enableOfflineQueue: false,
      connectionTimeout: 500,
    });
    try {
      await client.connect();
      if ((await client.send("PING", [])) === "PONG") return;
    } catch {
      // not up yet
    } finally {
      client.close();
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await Bun.sleep(25);
  }
}

/** A redis-server of its own on a free port, without persistence; `extraArgs` are more settings. */
export async function startRedisServer(extraArgs: string[] = []): Promise<TestRedisServer> {
  const port = await freePort();
  const launch = async () => {
    const proc = spawn(
      ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs],
      {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
      },
    );
    await waitForPing(port, proc);
    return proc;
  };
  let proc = await launch();
  let closed = false;
  const kill = async () => {
    proc.kill("SIGCONT");
    proc.kill("SIGKILL");
    await proc.exited;
  };
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    kill,
    pause: () => proc.kill("SIGSTOP"),
    resume: () => proc.kill("SIGCONT"),
    restart: async () => {
      if (closed) throw new Error("this redis-server was closed");
      proc = await launch();
    },
    close: async () => {
      closed = true;
      await kill();
    },
  };
}
