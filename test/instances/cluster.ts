/**
 * Two (or more) real server processes on one fresh PostgreSQL database, optionally with one real
 * nats-server: what the multi-instance tests start. Everything it starts is recorded as it starts,
 * so `close()` (in afterAll) kills, drops and removes it even when the start failed half-way.
 */

import { rmSync } from "node:fs";
import type { SQL } from "bun";
import { type CliResult, sessionctl } from "../cli/support";
import { tempDir } from "../support/core";
import { type RunningNats, startNats } from "../support/nats";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { client, type Pair, type RunningServer, ServerPool } from "../support/server";

export interface ClusterOptions {
  /** Start a nats-server and give every instance its NATS_URL. */
  nats?: boolean;
  /** Settings for every instance (on top of the test defaults and DATABASE_URL). */
  env?: Record<string, string>;
  /** Settings per instance, by index. */
  envOf?: Array<Record<string, string>>;
  /** How many instances (default 2). */
  instances?: number;
  /** Start them all at the same moment instead of one after the other. */
  together?: boolean;
}

export class Cluster {
  db!: TestDatabase;
  nats: RunningNats | null = null;
  servers: RunningServer[] = [];
  /** A direct SQL connection to the database, for checking what the instances committed. */
  sql!: SQL;
  readonly pool = new ServerPool();
  private readonly dirs: string[] = [];

  get a(): RunningServer {
    return this.servers[0]!;
  }
  get b(): RunningServer {
    return this.servers[1]!;
  }

  /** The settings every instance (and sessionctl) gets. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.db.url,
      ...(this.nats ? { NATS_URL: this.nats.url } : {}),
      // The background jobs' timers shortened (their defaults are pinned in test/unit/config.test.ts):
      // a takeover or a key change is proven in under a second instead of waited for in five.
      KEY_RELOAD_INTERVAL: "500ms",
      RELAY_LEASE_TTL: "1s",
      RELAY_POLL_INTERVAL: "100ms",
      ...extra,
    };
  }

  newDir(): string {
    const dir = tempDir("session-instances-");
    this.dirs.push(dir);
    return dir;
  }

  /** Starts one more instance, in a working folder of its own (its ./data stays apart). */
  startInstance(env: Record<string, string> = {}): Promise<RunningServer> {
    return this.pool.start(this.newDir(), this.env(env));
  }

  /** Runs the real sessionctl with the same DATABASE_URL and SECRET_KEY as the instances. */
  cli(args: string[]): Promise<CliResult> {
    return sessionctl(this.newDir(), args, this.env());
  }

  async cliJson<T = any>(args: string[]): Promise<T> {
    const result = await this.cli([...args, "--json"]);
    if (result.code !== 0) throw new Error(`sessionctl ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  async close(): Promise<void> {
    await this.pool.killAll();
    await this.sql?.close().catch(() => {});
    await this.nats?.cleanup();
    await this.db?.drop();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the cluster; on failure it is already cleaned up when the error reaches the test. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster();
  try {
    cluster.db = await createTestDatabase();
    cluster.sql = cluster.db.connect();
    if (options.nats) cluster.nats = await startNats();
    const count = options.instances ?? 2;
    const envOf = (i: number) => ({ ...options.env, ...options.envOf?.[i] });
    if (options.together) {
      const started = await Promise.allSettled(
        Array.from({ length: count }, (_, i) => cluster.startInstance(envOf(i))),
      );
      const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
      cluster.servers = started.map((s) => (s as PromiseFulfilledResult<RunningServer>).value);
    } else {
      for (let i = 0; i < count; i++) cluster.servers.push(await cluster.startInstance(envOf(i)));
    }
    return cluster;
  } catch (error) {
    await cluster.close();
    throw error;
  }
}

/** POST /session on `url`, expecting 201. */
export async function openSession(url: string, userId: string, extra: Record<string, unknown> = {}): Promise<Pair> {
  const res = await client(url).create({ user_id: userId, ...extra });
  if (res.status !== 201) throw new Error(`POST /session for ${userId} on ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Pair;
}

/** The `kid` of a compact JWS's protected header. */
export function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid: string }).kid;
}
