/**
 * Prometheus metrics (prom-client). Label values are bounded: routes are patterns, never paths
 * with ids; no user or session id is ever a label.
 */
import { createRequire } from "node:module";
import type * as Prometheus from "prom-client";
import type { StoreStats } from "./core/ports";

/**
 * prom-client's four classes, each from its own file: its index also loads the push gateway
 * (node:http), the default process metrics (with OpenTelemetry) and the cluster aggregator, none
 * of which the service uses. That was about 50 ms of CPU at every start (of about 450), and in
 * every test file that builds the app. These files are prom-client's internals (it has no exports
 * map), so package.json pins its exact version.
 */
const load = createRequire(import.meta.url);
const Counter = load("prom-client/lib/counter") as typeof Prometheus.Counter;
const Gauge = load("prom-client/lib/gauge") as typeof Prometheus.Gauge;
const Histogram = load("prom-client/lib/histogram") as typeof Prometheus.Histogram;
const Registry = load("prom-client/lib/registry") as typeof Prometheus.Registry;

/**
 * How far apart two renders of /metrics are at least. Rendering takes time in proportion to the
 * series (~200 once callers have hit every route, method and status: ~5 ms here), all on the event
 * loop, and /metrics is anonymous: back-to-back scrapes must not add up to a stalled service.
 * Prometheus scrapes every 15 s or so and waits 10 s by default, so a scrape that waits up to 1 s
 * costs it nothing.
 */
export const RENDER_GAP_MS = 1000;

export class Metrics {
  readonly registry = new Registry();

  constructor(private readonly renderGapMs = RENDER_GAP_MS) {}

  private lastRenderAt = Number.NEGATIVE_INFINITY;
  private nextRender: Promise<string> | null = null;

  /**
   * The text of a scrape: rendered now when the last render is `renderGapMs` old, else at that
   * moment, shared by every scrape waiting meanwhile. However many scrapes arrive, there is at most
   * one render per gap, and what a scrape gets is never older than its arrival.
   */
  scrape(): Promise<string> {
    if (this.nextRender) return this.nextRender;
    const render = async () => {
      this.lastRenderAt = performance.now();
      this.nextRender = null;
      return this.registry.metrics();
    };
    const wait = this.lastRenderAt + this.renderGapMs - performance.now();
    if (wait <= 0) return render();
    this.nextRender = Bun.sleep(wait).then(render);
    return this.nextRender;
  }
  readonly httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by route pattern, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by route pattern, method and status",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Label children by route, method and status: prom-client hashes a label object on every call otherwise. */
  private readonly requestChildren = new Map<
    string,
    { count: { inc(): void }; duration: { observe(v: number): void } }
  >();

  recordRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      const labels = { route, method, status: String(status) };
      child = { count: this.httpRequests.labels(labels), duration: this.httpDuration.labels(labels) };
      this.requestChildren.set(key, child);
    }
    child.count.inc();
    child.duration.observe(seconds);
    if (status === 503) this.storeUnavailable.inc();
  }

  readonly storeUnavailable = new Counter({
    name: "store_unavailable_total",
    help: "Requests answered 503 because the store could not be used",
    registers: [this.registry],
  });

  readonly refreshOutcomes = new Counter({
    name: "session_refresh_total",
    help: "Refresh attempts by outcome: rotated, grace_replay, reuse_revoked, expired, invalid",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly sessionsCreated = new Counter({
    name: "sessions_created_total",
    help: "Sessions opened",
    registers: [this.registry],
  });
  readonly sessionsRevoked = new Counter({
    name: "sessions_revoked_total",
    help: "Sessions revoked, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly tamperedRows = new Counter({
    name: "store_rows_tampered_total",
    help: "Stored rows that failed their integrity check and were not used, by kind (session, signing_key)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly relayPublishFailures = new Counter({
    name: "outbox_relay_failures_total",
    help: "Relay passes that failed to publish to JetStream (retried with backoff)",
    registers: [this.registry],
  });
  readonly userDeletedMessages = new Counter({
    name: "user_deleted_messages_total",
    help: "user.deleted messages by result: handled, nak (retried), terminated (unreadable), rejected_source (source not in USER_DELETED_SOURCES) or gave_up (failed every allowed delivery)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  /** The last store statistics (server/jobs/store-stats.ts), or null before the first pass. */
  private storeStats: StoreStats | null = null;

  /**
   * Shows the result of a background statistics pass. The store gauges appear with the first one;
   * a scrape reads these numbers and never asks the store (O(1) per scrape).
   */
  showStoreStats(stats: StoreStats): void {
    if (!this.storeStats) this.registerStoreGauges();
    this.storeStats = stats;
  }

  private registerStoreGauges(): void {
    const last = () => this.storeStats!;
    new Gauge({
      name: "sessions_active",
      help: "Active sessions (computed in the background every STORE_STATS_INTERVAL)",
      registers: [this.registry],
      collect() {
        this.set(last().sessions.active);
      },
    });
    new Gauge({
      name: "outbox_pending_events",
      help: "Events written but not yet relayed to NATS (computed in the background every STORE_STATS_INTERVAL)",
      registers: [this.registry],
      collect() {
        this.set(last().events.pending);
      },
    });
    new Gauge({
      name: "outbox_oldest_pending_age_seconds",
      help: "Age of the oldest event not yet relayed (0 when none), as of the last background pass",
      registers: [this.registry],
      collect() {
        const oldest = last().events.oldestPendingCreatedAt;
        this.set(oldest === null ? 0 : (Date.now() - oldest) / 1000);
      },
    });
  }
}

const SESSION_ID_ROUTE = /^\/session\/[^/]+$/;
const FIXED_ROUTES = new Set([
  "/session",
  "/session/refresh",
  "/session/validate",
  "/session/revoke",
  "/session/all",
  "/session/me",
  "/.well-known/jwks.json",
  "/healthz",
  "/readyz",
  "/metrics",
  "/docs",
  "/docs/json",
]);

/** The route pattern of a path, from a fixed set, so labels stay bounded whatever is requested. */
export function routeOf(pathname: string): string {
  if (FIXED_ROUTES.has(pathname)) return pathname;
  if (SESSION_ID_ROUTE.test(pathname)) return "/session/:id";
  if (pathname.startsWith("/docs/assets/")) return "/docs/assets/:file";
  return "other";
}
