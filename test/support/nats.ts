/**
 * A real nats-server (JetStream on, store in a temporary folder) on a free 127.0.0.1 port, that a
 * test can stop, restart on the same port and store, or SIGKILL; plus small readers of streams.
 */

import { rmSync } from "node:fs";
import { type Subprocess, spawn } from "bun";
import { connect, type JetStreamManager, type NatsConnection, type StoredMsg } from "nats";
import { tempDir } from "./core";
import { freePort } from "./server";
import { waitFor } from "./wait";

export const NATS_SERVER = "/usr/sbin/nats-server";

export interface RunningNats {
  url: string;
  port: number;
  storeDir: string;
  /** Everything nats-server wrote so far, over all its runs. */
  logs(): string;
  /** SIGTERM and wait for the exit (idempotent). */
  stop(): Promise<void>;
  /** Stop if running, then start again on the same port and store folder. */
  restart(): Promise<void>;
  /** SIGKILL and wait (idempotent). */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing (a frozen node). */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** Kill and remove the store folder. Call it in afterAll. */
  cleanup(): Promise<void>;
}

const alive = new Set<Subprocess>();
// Safety net: never leave a nats-server behind, even when a test file dies before its afterAll.
process.on("exit", () => {
  for (const proc of alive) proc.kill("SIGKILL");
});

/** Whether a nats-server answers at `url` now (one attempt, no reconnecting). */
export async function canConnect(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, reconnect: false, timeout: 500 });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

export async function startNats(timeoutMs = 10_000): Promise<RunningNats> {
  const port = await freePort();
  const storeDir = tempDir("session-nats-");
  const url = `nats://127.0.0.1:${port}`;
  let output = "";
  let proc: Subprocess<"ignore", "pipe", "pipe"> | null = null;

  const launch = async () => {
    const child = spawn([NATS_SERVER, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    proc = child;
    alive.add(child);
    void child.exited.then(() => alive.delete(child));
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
    };
    void pump(child.stdout);
    void pump(child.stderr);
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(url))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`nats-server did not start on ${port} (exit ${child.exitCode}):\n${output}`);
      }
      await Bun.sleep(25);
    }
  };

  const end = async (signal: "SIGTERM" | "SIGKILL") => {
    const child = proc;
    proc = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await child.exited;
  };

  await launch();
  return {
    url,
    port,
    storeDir,
    logs: () => output,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    freeze: () => (proc as Subprocess | null)?.kill("SIGSTOP"),
    thaw: () => (proc as Subprocess | null)?.kill("SIGCONT"),
    restart: async () => {
      await end("SIGTERM");
      await launch();
    },
    cleanup: async () => {
      (proc as Subprocess | null)?.kill("SIGCONT");
      await end("SIGKILL");
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** A message read back from a stream. */
export interface StreamMessage {
  seq: number;
  subject: string;
  /** The Nats-Msg-Id header (null when absent). */
  msgId: string | null;
  /** Every header, name → values. */
  headers: Record<string, string[]>;
  raw: Uint8Array;
  text: string;
}

function toMessage(stored: StoredMsg): StreamMessage {
  const headers: Record<string, string[]> = {};
  for (const [name, values] of stored.header ?? []) headers[name] = values;
  return {
    seq: stored.seq,
    subject: stored.subject,
    msgId: stored.header?.get("Nats-Msg-Id") || null,
    headers,
    raw: stored.data,
    text: new TextDecoder().decode(stored.data),
  };
}

/** A client connection for the test itself, closed by `close()`. */
export async function natsClient(url: string) {
  const nc: NatsConnection = await connect({
    servers: url,
    name: "test",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const js = nc.jetstream();
  return {
    nc,
    jsm,
    js,
    /** Number of messages in the stream, 0 when the stream does not exist yet. */
    async count(stream: string): Promise<number> {
      try {
        return (await jsm.streams.info(stream)).state.messages;
      } catch (error) {
        if (String((error as Error).message).includes("stream not found")) return 0;
        throw error;
      }
    },
    /** Every message of the stream, in stream order (read by sequence, nothing acknowledged). */
    async readAll(stream: string): Promise<StreamMessage[]> {
      let info: Awaited<ReturnType<typeof jsm.streams.info>>;
      try {
        info = await jsm.streams.info(stream);
      } catch (error) {
        if (String((error as Error).message).includes("stream not found")) return [];
        throw error;
      }
      const out: StreamMessage[] = [];
      if (info.state.messages === 0) return out;
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        out.push(toMessage(await jsm.streams.getMessage(stream, { seq })));
      }
      return out;
    },
    /** Waits until the stream exists (the service creates SESSIONS and USERS). */
    async waitForStream(stream: string, timeoutMs = 10_000) {
      return waitFor(`stream ${stream}`, () => jsm.streams.info(stream), timeoutMs);
    },
    /** Publishes raw bytes (or a JSON value) with an optional Nats-Msg-Id, once the stream accepts it. */
    async publish(subject: string, payload: Uint8Array | string | object, msgID?: string) {
      const data =
        payload instanceof Uint8Array ? payload : typeof payload === "string" ? payload : JSON.stringify(payload);
      return js.publish(subject, data, msgID ? { msgID } : {});
    },
    close: async () => {
      if (!nc.isClosed()) await nc.close();
    },
  };
}
export type NatsClient = Awaited<ReturnType<typeof natsClient>>;
