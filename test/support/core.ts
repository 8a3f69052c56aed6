/** In-process core on a real SQLite file in a temporary folder, with a controllable clock. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig } from "../../server/config";
import type { Clock, SigningKeyRow } from "../../server/core/ports";
import { createApp } from "../../server/http/app";
import { createLogger } from "../../server/logger";
import { type Core, openCore } from "../../server/open-core";

export const SERVICE_KEY = "test-service-key-0123456789abcdef";
export const SECRET_KEY = "a".repeat(64);

export class FakeClock implements Clock {
  constructor(public time = Date.parse("2026-11-30T00:00:00.000Z")) {}
  now() {
    return this.time;
  }
  advance(ms: number) {
    this.time += ms;
  }
}

export function tempDir(prefix = "session-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A signing-key row for pure key-state tests (no real key material). */
export const signingKeyRow = (kid: string, activatesAt: number, extra: Partial<SigningKeyRow> = {}): SigningKeyRow => ({
  kid,
  alg: "EdDSA",
  publicJwk: "{}",
  privateKeyEncrypted: "",
  createdAt: activatesAt,
  activatesAt,
  retiredAt: null,
  mac: "",
  ...extra,
});

/** Temporary folders made by one test file, removed together in its afterAll. */
export class TempDirs {
  private readonly made: string[] = [];

  constructor(private readonly prefix = "session-test-") {}

  make(): string {
    const dir = tempDir(this.prefix);
    this.made.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** A full Config from settings, as the server would parse them. */
export function testConfig(dir: string, env: Record<string, string> = {}): Config {
  const loaded = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, "sessions.db")}`,
    SECRET_KEY,
    SERVICE_KEYS: `tests:${SERVICE_KEY}`,
    LOG_LEVEL: "silent",
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.errors.join("; "));
  return loaded.config;
}

export interface TestCore {
  core: Core;
  clock: FakeClock;
  dir: string;
  close(): Promise<void>;
}

export async function openTestCore(env: Record<string, string> = {}, clock = new FakeClock()): Promise<TestCore> {
  const dir = tempDir();
  const core = await openCore(testConfig(dir, env), { role: "server", clock });
  return {
    core,
    clock,
    dir,
    close: async () => {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The HTTP app over a test core, driven with app.handle (no port). */
export async function openTestApp(env: Record<string, string> = {}, clock = new FakeClock()) {
  const testCore = await openTestCore(env, clock);
  const app = createApp(testCore.core, { logger: createLogger("silent") });
  const call = (
    method: string,
    path: string,
    init: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined = init.rawBody;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    return app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
  };
  return { ...testCore, app, call };
}

export const serviceAuth = { authorization: `Bearer ${SERVICE_KEY}` };
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
