/**
 * Starts the real server (`bun server/main.ts`) as a child process on a free port, with settings
 * in its environment, and waits for its "ready" log line. Logs are kept for assertions.
 */

import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type BunFile, type Subprocess, spawn } from "bun";
import { decodeSecretKey } from "../../server/config";
import { deriveChildToken, readRefreshToken } from "../../server/core/refresh-tokens";
import { deriveSecrets, keyedHash } from "../../server/core/secrets";
import { SECRET_KEY, SERVICE_KEY } from "./core";
import { freePort } from "./ports";

export const PROJECT_ROOT = join(import.meta.dir, "..", "..");

export { freePort } from "./ports";

export interface RunningServer {
  url: string;
  port: number;
  proc: Subprocess<"ignore", "pipe" | BunFile, "pipe">;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** Resolves with the exit code once the process ended and everything it wrote has been read. */
  exited(): Promise<number>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** The default settings of a test server on the SQLite file in `dir`; `env` overrides them. */
export function serverEnv(dir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: `sqlite:${join(dir, "sessions.db")}`,
    SECRET_KEY,
    SERVICE_KEYS: `tests:${SERVICE_KEY}`,
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    // Test files run six at a time on one PostgreSQL (max_connections 100; about 50 in use at the peak): a few connections each.
    DATABASE_POOL_SIZE: "4",
    ...env,
  };
}

/**
 * `logFile`: stdout goes straight into that file instead of through a pipe into this process —
 * for the benchmark, whose load generator would otherwise share its core with reading the logs.
 * `root`: the checkout whose server runs (the benchmark compares two builds side by side).
 */
export async function startServer(
  dir: string,
  env: Record<string, string> = {},
  timeoutMs = 15_000,
  logFile?: string,
  root = PROJECT_ROOT,
): Promise<RunningServer> {
  const port = Number(env.PORT ?? (await freePort()));
  const { PATH, HOME } = process.env;
  const proc = spawn(["bun", join(root, "server/main.ts")], {
    cwd: dir,
    env: { PATH: PATH ?? "", HOME: HOME ?? "", ...serverEnv(dir, env), PORT: String(port) },
    stdin: "ignore",
    stdout: logFile ? Bun.file(logFile) : "pipe",
    stderr: "pipe",
  });
  let piped = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) piped += decoder.decode(chunk, { stream: true });
  };
  const pumped = Promise.all([proc.stdout instanceof ReadableStream ? pump(proc.stdout) : null, pump(proc.stderr)]);
  // A process's last lines are still in the pipe when it exits: read them all before saying it ended.
  const ended = async () => {
    const code = await proc.exited;
    await Promise.race([pumped, Bun.sleep(2_000)]);
    return code;
  };
  const output = () => (logFile ? readFileSync(logFile, "utf8") + piped : piped);

  // Below info the ready line is not logged: then the first answer of /healthz says it is up.
  const quiet = ["warn", "error", "fatal", "silent"].includes(env.LOG_LEVEL ?? "info");
  const ready = async () =>
    quiet
      ? await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      : output().includes("session-service ready");
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start (exit ${proc.exitCode}):\n${output()}`);
    }
    await Bun.sleep(20);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    logs: output,
    exited: ended,
    stop: async () => {
      proc.kill("SIGTERM");
      return ended();
    },
    kill: async () => {
      proc.kill("SIGKILL");
      await ended();
    },
  };
}

/** JSON POST helper for servers started above. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

// ---- helpers for the end-to-end tests (test/e2e) ----

/** The SQLite file a server started with `serverEnv(dir)` uses. */
export const dbFile = (dir: string) => join(dir, "sessions.db");

/** A read-only bun:sqlite connection to that file, for looking at what the server committed. */
export function openDbReadOnly(dir: string): Database {
  return new Database(dbFile(dir), { readonly: true, strict: true });
}

/** The keyed hash the store keeps for a refresh token, computed with the test SECRET_KEY. */
export function refreshTokenHash(token: string, secretKey = SECRET_KEY): string {
  return keyedHash(deriveSecrets(decodeSecretKey(secretKey)!).tokenHashKey, token);
}

/** The refresh token a rotation of `parent` with `nonce` hands out (what a grace replay returns). */
export function rotatedToken(parent: string, nonce: string, secretKey = SECRET_KEY): string {
  const keys = deriveSecrets(decodeSecretKey(secretKey)!);
  return deriveChildToken(keys, parent, readRefreshToken(keys, parent)!, nonce);
}

/** Starts servers and remembers them, so afterAll can SIGKILL whatever is still running. */
export class ServerPool {
  private readonly running = new Set<RunningServer>();

  async start(dir: string, env: Record<string, string> = {}): Promise<RunningServer> {
    const server = await startServer(dir, env);
    this.running.add(server);
    void server.proc.exited.then(() => this.running.delete(server));
    return server;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.running].map((server) => server.kill()));
    this.running.clear();
  }
}

/** Small JSON client for one started server. */
export function client(url: string, serviceKey = SERVICE_KEY) {
  const service = { authorization: `Bearer ${serviceKey}` };
  const user = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
  return {
    create: (body: Record<string, unknown>) => postJson(`${url}/session`, body, service),
    refresh: (refresh_token: string, extra: Record<string, unknown> = {}) =>
      postJson(`${url}/session/refresh`, { refresh_token, ...extra }),
    validate: (refresh_token: string) => postJson(`${url}/session/validate`, { refresh_token }, service),
    revoke: (refresh_token: string) => postJson(`${url}/session/revoke`, { refresh_token }),
    me: (accessToken: string) => fetch(`${url}/session/me`, { headers: user(accessToken) }),
    /** Only authenticates (DELETE of an id no session has): 404 with a good access token, 401 otherwise. */
    authOnly: (accessToken: string) =>
      fetch(`${url}/session/00000000-0000-4000-8000-000000000000`, { method: "DELETE", headers: user(accessToken) }),
    logout: (accessToken: string, sessionId: string) =>
      fetch(`${url}/session/${sessionId}`, { method: "DELETE", headers: user(accessToken) }),
    logoutAll: (accessToken: string, keepCurrent = false) =>
      fetch(`${url}/session/all${keepCurrent ? "?keep_current=true" : ""}`, {
        method: "DELETE",
        headers: user(accessToken),
      }),
    readyz: () => fetch(`${url}/readyz`),
  };
}

/** The 201/200 body of POST /session and POST /session/refresh. */
export interface Pair {
  session_id: string;
  user_id: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  refresh_token_expires_at: string;
}
