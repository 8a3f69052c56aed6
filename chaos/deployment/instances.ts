/**
 * The service instances: `bun server/main.ts`, each in a working folder of its own, all on one
 * PostgreSQL, one NATS cluster and the same SECRET_KEY and SERVICE_KEYS. An instance that cannot
 * start (its store is down at that moment) exits; `start` launches it again until it answers.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../test/support/ports";
import { PROJECT_ROOT } from "../../test/support/server";
import { RestartableProcess } from "./process";

export interface Instance {
  name: string;
  url: string;
  process: RestartableProcess;
}

/** What every instance shares; the background timers shortened through the server's own settings. */
export function instanceEnv(shared: { databaseUrl: string; natsUrl: string; secretKey: string; serviceKeys: string }) {
  return {
    DATABASE_URL: shared.databaseUrl,
    NATS_URL: shared.natsUrl,
    SECRET_KEY: shared.secretKey,
    SERVICE_KEYS: shared.serviceKeys,
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    KEY_RELOAD_INTERVAL: "1s",
    RELAY_LEASE_TTL: "2s",
    RELAY_POLL_INTERVAL: "100ms",
    USER_DELETED_RETRY_DELAY: "250ms",
    STORE_STATS_INTERVAL: "5s",
  };
}

export async function createInstances(root: string, env: Record<string, string>, count = 3): Promise<Instance[]> {
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const name = `instance-${i + 1}`;
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const full = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, PORT: String(port) };
    const cmd = ["bun", join(PROJECT_ROOT, "server/main.ts")];
    instances.push({
      name,
      url: `http://127.0.0.1:${port}`,
      process: new RestartableProcess(name, cmd, full, join(root, `${name}.log`), dir),
    });
  }
  return instances;
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

/** Launches the instance (again, after each failed start) until /healthz answers, or throws after `timeoutMs`. */
export async function startInstance(instance: Instance, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!instance.process.running) instance.process.launch();
    if (await healthy(instance.url)) return;
    if (Date.now() > deadline) throw new Error(`${instance.name} did not start within ${timeoutMs} ms`);
    await Bun.sleep(100);
  }
}

/** Whether the instance says it can write to its store (GET /readyz 200). */
export async function ready(instance: Instance): Promise<boolean> {
  try {
    return (await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}
