/**
 * Listens with Bun.serve. Around every request: a request id (X-Request-Id accepted when sane,
 * otherwise generated, and returned), one JSON log line, and the HTTP metrics by route pattern.
 * Log lines carry no header but the user agent, which pino JSON-escapes so it cannot forge lines.
 */
import { fixedLine, type Logger } from "../logger";
import type { Metrics } from "../metrics";
import { routeOf } from "../metrics";
import type { App } from "./app";

/** Methods as metric labels; anything else a client invents is counted as OTHER, keeping labels bounded. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ServeOptions {
  port: number;
  hostname: string;
  logger: Logger;
  metrics: Metrics;
}

/** Quiet time after the last request before the listener closes (connections still queued get served). */
const DRAIN_QUIET_MS = 250;

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

/** The path of an absolute request URL, without parsing the whole URL. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const query = url.indexOf("?", start);
  return url.slice(start, query === -1 ? undefined : query);
}

export function serve(app: App, { port, hostname, logger, metrics }: ServeOptions): Serving {
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
    // One async layer per request: each extra await is measurable at tens of thousands per second.
    async fetch(request, server) {
      inFlight++;
      const started = performance.now();
      lastArrival = started;
      try {
        const offered = request.headers.get("x-request-id");
        const requestId = offered && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
        const response = await handleRequest(request);
        response.headers.set("x-request-id", requestId);
        if (draining) response.headers.set("connection", "close");
        record(request, server, response.status, requestId, performance.now() - started);
        return response;
      } finally {
        inFlight--;
      }
    },
  });

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
