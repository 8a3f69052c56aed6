/** Composition root of the server: the only place besides cli/main.ts that reads the environment. */
import { loadConfig } from "./config";
import { startEvents } from "./events";
import { createApp } from "./http/app";
import { PeerAddresses } from "./http/client-source";
import { type Serving, serve } from "./http/serve";
import { startKeyRotation } from "./jobs/key-rotation";
import { startPurgeSchedule } from "./jobs/purge";
import { startStoreStats, statsSourceFor } from "./jobs/store-stats";
import { createLogger, flushLogs } from "./logger";
import { Metrics } from "./metrics";
import { createObserver } from "./observer";
import { openCore } from "./open-core";

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  console.error(
    `session-service: cannot start, fix these settings:\n${loaded.errors.map((e) => `  - ${e}`).join("\n")}`,
  );
  process.exit(1);
}
const config = loaded.config;
const logger = createLogger(config.logLevel);

// Everything the service creates (database files, secret.key, service.key) is private to its user.
process.umask(0o077);
const metrics = new Metrics();
const core = await openCore(config, {
  role: "server",
  observer: createObserver(logger, metrics),
  backgroundCheckpoints: true,
}).catch((error: unknown) => {
  // One line, never a stack trace: a SECRET_KEY that does not match the store, a store that cannot be reached.
  console.error(`session-service: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
core.keys.startReloading((err) => logger.warn({ err }, "signing key reload failed"));
const stopKeyRotation = startKeyRotation(core, config, logger);
const stopPurge =
  config.purgeAfterMs === null
    ? () => {}
    : startPurgeSchedule(core, { afterMs: config.purgeAfterMs, everyMs: config.timers.purgeEveryMs }, logger);

const stopStoreStats = startStoreStats(
  statsSourceFor(config, core.store.admin),
  metrics,
  config.timers.storeStatsMs,
  logger,
);
const events = await startEvents(core, logger, metrics, {
  pollMs: config.timers.relayPollMs,
  leaseTtlMs: config.timers.relayLeaseMs,
  // Crash tests only: die between JetStream's acks and marking the outbox rows sent.
  afterPublish: config.fault === "relay-crash-after-publish" ? () => process.kill(process.pid, "SIGKILL") : undefined,
});

let server: Serving | null = null;
const probes = { events: () => events.status(), draining: () => server?.draining() ?? false };
const peers = new PeerAddresses();
const app = createApp(core, { logger, metrics, probes, peers });
server = serve(app, { port: config.port, hostname: config.host, logger, metrics, peers });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  // Stop accepting, let requests in flight finish, relay what can be relayed, then close the store.
  stopKeyRotation();
  stopPurge();
  await server?.drain();
  await stopStoreStats();
  await events.stop();
  await core.close();
  logger.info("stopped");
  await flushLogs(logger);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

// Last, once SIGTERM is handled: whoever sees the ready line may stop the server at once.
// What a newcomer needs to try it: where it answers, its docs, and where the generated service key
// is (the path only: the key itself never reaches a log line). 0.0.0.0 (every address) shows as localhost.
const shownHost = ["0.0.0.0", "::", ""].includes(config.host) ? "localhost" : config.host;
const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${server.port}`;
const keyFile = core.generatedServiceKeyFile;
logger.info(
  {
    port: server.port,
    host: config.host,
    url,
    docs: `${url}/docs`,
    service_key_file: keyFile,
    store: config.databaseUrl.split(":")[0],
    events: config.natsUrl ? "nats" : "outbox only",
  },
  `session-service ready at ${url}, docs at ${url}/docs; ${
    keyFile ? `the generated service key is in ${keyFile}` : "service keys from SERVICE_KEYS or sessionctl clients"
  }`,
);
