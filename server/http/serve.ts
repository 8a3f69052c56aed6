/**
 * Listens with Bun.serve. Around every request: a request id (X-Request-Id accepted when sane,
 * otherwise generated, and returned), one JSON log line, and the HTTP metrics by route pattern.
 * Log lines carry no header but the user agent, which pino JSON-escapes so it cannot forge lines.
 * Before the app sees a request: its URL is made routable whatever the Host header
 * (request-url.ts), its peer address is remembered for the rate limiter, and a chunked body (no
 * Content-Length) is read up to the 16 KiB cap — or refused with 413 — so that every route, unknown
 * ones too, holds to the cap (the app's guard decides declared lengths itself).
 */
import { fixedLine, type Logger } from "../logger";
import type { Metrics } from "../metrics";
import { routeOf } from "../metrics";
import type { App } from "./app";
import { MAX_BODY_BYTES, readCapped } from "./body";
import type { PeerAddresses } from "./client-source";
import { tooLargeResponse } from "./guard";
import { pathOf, routableRequest } from "./request-url";

/** Methods as metric labels; anything else a client invents is counted as OTHER, keeping labels bounded. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ServeOptions {
  port: number;
  hostname: string;
  logger: Logger;
  metrics: Metrics;
  /** The app's view of socket peers (the rate limiter's source), given the server once it listens. */
  peers?: PeerAddresses;
}

/** Quiet time after the last request before the listener closes (connections still queued get served). */
const DRAIN_QUIET_MS = 250;

/**
 * Bun's own limit, a backstop above the 16 KiB cap: should a code path ever read a body without
 * the cap, Bun still stops at this size. Bun answers a declared length over it with a bare 413
 * before any handler runs (no JSON error body); lengths between the cap and this get the JSON 413.
 */
export const BODY_BACKSTOP_BYTES = 4 * MAX_BODY_BYTES;
const NO_BODY_METHODS = ["GET", "HEAD"];

export interface Serving {
  port: number;
  /** True once a drain has begun: /readyz answers 503 so the gateway stops sending. */
  draining(): boolean;
  /**
   * Graceful stop: keep answering (with `Connection: close`, so clients drop idle keep-alive
   * sockets) until nothing is in flight and nothing arrived for a moment, then close the listener.
   * Closing at once would reset connections the kernel had already accepted.
   */
  drain(maxMs?: number): Promise<void>;
}

/** A chunked body as bytes under the cap, in a request that now declares its length; null when over the cap. */
async function withBufferedBody(request: Request): Promise<Request | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(request.body);
  } catch {
    return null;
  }
  const headers = new Headers(request.headers);
  headers.delete("transfer-encoding");
  headers.set("content-length", String(bytes.byteLength));
  return new Request(request.url, { method: request.method, headers, body: bytes });
}

export function serve(app: App, { port, hostname, logger, metrics, peers }: ServeOptions): Serving {
  // Elysia's `fetch` is a getter that compiles the router each time it is read: read it once.
  const handleRequest = app.fetch;
  let inFlight = 0;
  let lastArrival = 0;
  let draining = false;
  const requestLine = fixedLine(
    logger,
    "info",
    ["req_id", "method", "route", "status", "ms", "remote", "user_agent"],
    "request",
  );
  const server = Bun.serve({
    port,
    hostname,
    maxRequestBodySize: BODY_BACKSTOP_BYTES,
    // One async layer per request: each extra await is measurable at tens of thousands per second.
    async fetch(received, server) {
      inFlight++;
      const started = performance.now();
      lastArrival = started;
      try {
        const offered = received.headers.get("x-request-id");
        const requestId = offered && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
        let request: Request | null = routableRequest(received);
        // Bun hands GET and HEAD bodies to no one; any other body without a length is chunked.
        if (!request.headers.has("content-length") && NO_BODY_METHODS.indexOf(request.method) === -1 && request.body)
          request = await withBufferedBody(request);
        let response: Response;
        if (request) {
          if (request !== received) peers?.set(request, server.requestIP(received)?.address);
          response = await handleRequest(request);
        } else response = tooLargeResponse();
        response.headers.set("x-request-id", requestId);
        if (draining) response.headers.set("connection", "close");
        record(received, server, response.status, requestId, performance.now() - started);
        return response;
      } finally {
        inFlight--;
      }
    },
  });

  peers?.listen(server);

  function record(request: Request, server: Bun.Server<unknown>, status: number, requestId: string, ms: number): void {
    const route = routeOf(pathOf(request.url));
    metrics.recordRequest(route, KNOWN_METHODS.has(request.method) ? request.method : "OTHER", status, ms / 1000);
    if (requestLine.enabled()) {
      requestLine.write([
        requestId,
        request.method,
        route,
        status,
        Math.round(ms * 10) / 10,
        server.requestIP(request)?.address,
        request.headers.get("user-agent") ?? undefined,
      ]);
    }
  }

  return {
    port: server.port!,
    draining: () => draining,
    async drain(maxMs = 10_000) {
      draining = true;
      const deadline = performance.now() + maxMs;
      while (performance.now() < deadline && (inFlight > 0 || performance.now() - lastArrival < DRAIN_QUIET_MS)) {
        await Bun.sleep(25);
      }
      await server.stop(false);
    },
  };
}
