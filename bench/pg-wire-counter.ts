/**
 * A counting TCP proxy in front of PostgreSQL, for the capacity benchmark: the server connects to
 * it instead of PostgreSQL, and it counts what crosses. Listens on 127.0.0.1 only.
 *
 * A round trip is a client turn: the client sends after it has heard from the server (or for the
 * first time), then waits. Statements pipelined in one write are one round trip, however many
 * there are; `syncs` counts the statements themselves (a Sync ends each extended-protocol
 * statement, a simple Query is one too).
 */
import { createServer, type Server, connect as tcpConnect } from "node:net";

/** Startup-phase codes (no type byte): SSLRequest, GSSENCRequest, CancelRequest. */
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/**
 * Splits the client → server byte stream into message types: "startup" (and "ssl", "gss",
 * "cancel") before the startup message, then the type letter of each message (P, B, E, S, Q …).
 */
export class FrontendParser {
  private pending = new Uint8Array(0);
  private started = false;

  feed(chunk: Uint8Array): string[] {
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    const view = new DataView(joined.buffer);
    const types: string[] = [];
    let at = 0;
    for (;;) {
      if (!this.started) {
        if (joined.length - at < 8) break;
        const length = view.getInt32(at);
        if (joined.length - at < length) break;
        const code = view.getInt32(at + 4);
        if (code === SSL_REQUEST) types.push("ssl");
        else if (code === GSSENC_REQUEST) types.push("gss");
        else if (code === CANCEL_REQUEST) types.push("cancel");
        else {
          types.push("startup");
          this.started = true;
        }
        at += length;
      } else {
        if (joined.length - at < 5) break;
        const length = view.getInt32(at + 1);
        if (joined.length - at < 1 + length) break;
        types.push(String.fromCharCode(joined[at]!));
        at += 1 + length;
      }
    }
    this.pending = joined.slice(at);
    return types;
  }
}

export interface WireCounts {
  /** Client turns (see the file comment). */
  roundTrips: number;
  /** Statements: Sync and simple Query messages. */
  syncs: number;
  /** Every client → server message. */
  messages: number;
  bytesToServer: number;
  bytesToClient: number;
  connections: number;
}

export const zeroCounts = (): WireCounts => ({
  roundTrips: 0,
  syncs: 0,
  messages: 0,
  bytesToServer: 0,
  bytesToClient: 0,
  connections: 0,
});

export function countsBetween(before: WireCounts, after: WireCounts): WireCounts {
  const out = zeroCounts();
  for (const key of Object.keys(out) as Array<keyof WireCounts>) out[key] = after[key] - before[key];
  return out;
}

export interface WireCounter {
  port: number;
  /** A copy of the totals so far. */
  snapshot(): WireCounts;
  close(): Promise<void>;
}

/** Proxies 127.0.0.1:<port> → 127.0.0.1:`targetPort`, counting every connection's traffic. */
export async function startWireCounter(targetPort: number): Promise<WireCounter> {
  const totals = zeroCounts();
  const sockets = new Set<{ destroy(): void }>();
  const server: Server = createServer((client) => {
    totals.connections++;
    const parser = new FrontendParser();
    // true once the server spoke after the client's last bytes: the client's next bytes are a new turn.
    let serverSpoke = true;
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.on("data", (chunk: Buffer) => {
      if (serverSpoke) totals.roundTrips++;
      serverSpoke = false;
      totals.bytesToServer += chunk.length;
      for (const type of parser.feed(chunk)) {
        totals.messages++;
        if (type === "S" || type === "Q") totals.syncs++;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      serverSpoke = true;
      totals.bytesToClient += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("wire counter: no port");
  return {
    port: address.port,
    snapshot: () => ({ ...totals }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
