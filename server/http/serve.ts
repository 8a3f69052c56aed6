/** Listens with Bun.serve and records every request in the HTTP metrics (route pattern, method, status). */
import type { Metrics } from "../metrics";
import { routeOf } from "../metrics";
import type { App } from "./app";

export function serve(app: App, metrics: Metrics, options: { port: number; hostname: string }) {
  return Bun.serve({
    port: options.port,
    hostname: options.hostname,
    async fetch(request) {
      const started = performance.now();
      const response = await app.fetch(request);
      const labels = {
        route: routeOf(new URL(request.url).pathname),
        method: request.method,
        status: String(response.status),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
      if (response.status === 503) metrics.storeUnavailable.inc();
      return response;
    },
  });
}
