/** Composition root of the server: the only place besides cli/main.ts that reads the environment. */
import { existsSync } from "node:fs";
import { loadConfig } from "./core/config";
import { serviceKeyPath } from "./data-files";
import { startEvents } from "./events";
import { createApp } from "./http/app";
import { type Serving, serve } from "./http/serve";
import { startKeyRotation } from "./key-rotator";
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

const metrics = new Metrics();
const core = await openCore(config, {
  generateServiceKey: true,
  observer: createObserver(logger, metrics),
  backgroundCheckpoints: true,
});
core.keys.startReloading((err) => logger.warn({ err }, "signing key reload failed"));
const stopKeyRotation = startKeyRotation(core, config, logger);

metrics.watchStore(core.store);
// Crash tests only: die between JetStream's acks and marking the outbox rows sent.
const crashAfterPublish = process.env.RELAY_CRASH_AFTER_PUBLISH === "1";
const events = startEvents(core, logger, metrics, {
  afterPublish: crashAfterPublish ? () => process.kill(process.pid, "SIGKILL") : undefined,
});

let server: Serving | null = null;
const probes = { events: () => events.status(), draining: () => server?.draining() ?? false };
const app = createApp(core, { logger, metrics, probes });
server = serve(app, { port: config.port, hostname: config.host, logger, metrics });
// What a newcomer needs to try it: where it answers, its docs, and where the generated service key
// is (the path only: the key itself never reaches a log line). 0.0.0.0 (every address) shows as localhost.
const shownHost = ["0.0.0.0", "::", ""].includes(config.host) ? "localhost" : config.host;
const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${server.port}`;
const keyFile =
  config.serviceKeys.size === 0 && existsSync(serviceKeyPath(config.dataDir)) ? serviceKeyPath(config.dataDir) : null;
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

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  // Stop accepting, let requests in flight finish, relay what can be relayed, then close the store.
  stopKeyRotation();
  await server?.drain();
  await events.stop();
  await core.close();
  logger.info("stopped");
  await flushLogs(logger);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
