/**
 * Starts the real server (`bun server/main.ts`) as a child process on a free port, with settings
 * in its environment, and waits for its "ready" log line. Logs are kept for assertions.
 */
import { spawn, type Subprocess } from "bun";
import { join } from "node:path";
import { SECRET_KEY, SERVICE_KEY } from "./core";

export const PROJECT_ROOT = join(import.meta.dir, "..", "..");

export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

export interface RunningServer {
  url: string;
  port: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
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
    ...env,
  };
}

export async function startServer(dir: string, env: Record<string, string> = {}, timeoutMs = 15_000): Promise<RunningServer> {
  const port = Number(env.PORT ?? (await freePort()));
  const { PATH, HOME } = process.env;
  const proc = spawn(["bun", join(PROJECT_ROOT, "server/main.ts")], {
    cwd: dir,
    env: { PATH: PATH ?? "", HOME: HOME ?? "", ...serverEnv(dir, env), PORT: String(port) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);

  const deadline = Date.now() + timeoutMs;
  while (!output.includes("session-service ready")) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start (exit ${proc.exitCode}):\n${output}`);
    }
    await Bun.sleep(20);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    logs: () => output,
    stop: async () => {
      proc.kill("SIGTERM");
      return await proc.exited;
    },
    kill: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** JSON POST helper for servers started above. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}
