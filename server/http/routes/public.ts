/** Unauthenticated endpoints: the JWKS and the health probes. */
import { Elysia } from "elysia";
import type { Metrics } from "../../metrics";
import type { Core } from "../../open-core";
import { ChecksBody, JwksBody } from "../models";

export interface Probes {
  /** Link to NATS: "disabled" (NATS_URL unset), "connected", or "disconnected". */
  events(): string;
  /** True while the server drains for shutdown: not ready for new traffic. */
  draining?(): boolean;
}

export const publicRoutes = (core: Core, probes: Probes, metrics: Metrics) =>
  new Elysia({ name: "public-routes", normalize: false })
    .get(
      "/.well-known/jwks.json",
      ({ set }) => {
        set.headers["cache-control"] = `public, max-age=${Math.floor(core.config.jwksMaxAgeMs / 1000)}`;
        return core.keys.jwks();
      },
      { response: { 200: JwksBody }, detail: { summary: "Public signing keys", tags: ["public"] } },
    )
    .get(
      "/metrics",
      async ({ set }) => {
        set.headers["content-type"] = metrics.registry.contentType;
        return metrics.scrape();
      },
      { detail: { summary: "Prometheus metrics", tags: ["operations"] } },
    )
    .get("/healthz", () => ({ checks: { store: "not_checked", events: probes.events() } }), {
      response: { 200: ChecksBody },
      detail: { summary: "Liveness: 200 while the process runs", tags: ["operations"] },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        let store = "ok";
        try {
          await core.store.checkWritable();
        } catch {
          store = "unavailable";
        }
        if (store !== "ok" || probes.draining?.()) {
          set.status = 503;
          set.headers["retry-after"] = "1";
        }
        return { checks: { store, events: probes.events() } };
      },
      {
        response: { 200: ChecksBody, 503: ChecksBody },
        detail: { summary: "Readiness: 200 when the store can write", tags: ["operations"] },
      },
    );
