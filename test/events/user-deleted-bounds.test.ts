/**
 * The bounds of the user.deleted consumer, in-process against a real nats-server and a real core
 * on SQLite, with its delays shortened through its options: a message that keeps failing is
 * terminated with its reason after maxDeliveries (JetStream's max_deliver says the same), one that
 * recovers is handled, a handled message whose ack fails counts as handled, CloudEvents from a
 * source not allowed are terminated, and stream/consumer errors are told apart by their codes.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { ServiceError } from "../../server/core/errors";
import type { SessionService } from "../../server/core/sessions";
import { NatsLink } from "../../server/events/nats-link";
import { JS_ERROR, jetStreamCode, termTakesReason } from "../../server/events/streams";
import { UserDeletedConsumer, type UserDeletedOptions } from "../../server/events/user-deleted-consumer";
import { createLogger } from "../../server/logger";
import { Metrics } from "../../server/metrics";
import { openTestCore, type TestCore } from "../support/core";
import { type NatsClient, natsClient, type RunningNats, startNats } from "../support/nats";
import { waitFor } from "../support/wait";

let nats: RunningNats;
let bus: NatsClient;
let t: TestCore;
beforeAll(async () => {
  nats = await startNats();
  bus = await natsClient(nats.url);
  t = await openTestCore();
});
afterAll(async () => {
  await bus?.close();
  await nats?.cleanup();
  await t?.close();
});

/** One consumer per test on a stream of its own (durables and sequences do not leak between tests). */
let running: { consumer: UserDeletedConsumer; link: NatsLink } | null = null;
afterEach(async () => {
  await running?.consumer.stop();
  await running?.link.close();
  running = null;
});

let streams = 0;
function start(sessions: Pick<SessionService, "deleteUser">, options: Partial<UserDeletedOptions> = {}) {
  const n = ++streams;
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line)) });
  const metrics = new Metrics();
  const link = new NatsLink(nats.url, logger);
  const settings = { stream: `USERS${n}`, subject: `user${n}.deleted`, durable: "session-service", ...options };
  const consumer = new UserDeletedConsumer(sessions as SessionService, link, logger, settings, metrics);
  consumer.start();
  running = { consumer, link };
  const count = async (result: string) =>
    (await metrics.userDeletedMessages.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return {
    ...settings,
    lines,
    count,
    ready: () => waitFor("consumer", () => bus.jsm.consumers.info(settings.stream, "session-service")),
  };
}

/** The user's sessions, as the store has them. */
const active = async (userId: string) =>
  (await t.core.store.admin.listSessions({ userId, status: "active", limit: 100 }, t.core.clock.now())).length;

const failing = (times: number, calls: string[] = []) => ({
  calls,
  deleteUser: async (userId: string) => {
    calls.push(userId);
    if (calls.length <= times) throw new ServiceError("unavailable");
    return t.core.sessions.deleteUser(userId);
  },
});

test("a message that keeps failing is terminated with its reason after maxDeliveries, and counted", async () => {
  const store = failing(Number.POSITIVE_INFINITY);
  const c = start(store, { maxDeliveries: 3, nakDelayMs: 20, maxNakDelayMs: 50 });
  await c.ready();
  expect((await bus.jsm.consumers.info(c.stream, "session-service")).config.max_deliver).toBe(3);
  await t.core.sessions.create({ userId: "stuck" });
  await bus.publish(c.subject, { user_id: "stuck" });
  await waitFor("gave up", async () => (await c.count("gave_up")) === 1);
  expect(store.calls).toEqual(["stuck", "stuck", "stuck"]);
  expect(await c.count("nak")).toBe(2);
  expect(await c.count("handled")).toBe(0);
  const line = c.lines.find((l) => String(l.msg).startsWith("user.deleted terminated"))!;
  expect(line).toMatchObject({ level: 50, reason: "failed 3 deliveries (unavailable)", deliveries: 3 });
  expect(JSON.stringify(c.lines)).not.toContain('"stuck"'); // no user id in the logs
  // Terminated, not left pending: nothing is redelivered any more.
  await waitFor(
    "acknowledged by the term",
    async () => (await bus.jsm.consumers.info(c.stream, "session-service")).num_ack_pending === 0,
  );
  expect(await active("stuck")).toBe(1);
});

test("naks wait nakDelayMs, doubling per delivery; a message that recovers is handled", async () => {
  const store = failing(2);
  const c = start(store, { maxDeliveries: 5, nakDelayMs: 30, maxNakDelayMs: 1_000 });
  await c.ready();
  await t.core.sessions.create({ userId: "flaky" });
  await bus.publish(c.subject, { user_id: "flaky" });
  await waitFor("handled", async () => (await c.count("handled")) === 1);
  expect(await c.count("nak")).toBe(2);
  expect(await c.count("gave_up")).toBe(0);
  expect(c.lines.filter((l) => l.msg === "user.deleted not handled; nak").map((l) => l.retry_in_ms)).toEqual([30, 60]);
  expect(await active("flaky")).toBe(0);
});

test("a handled message whose ack fails is counted as handled, not as a nak", async () => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  const c = start({
    deleteUser: async (userId: string) => {
      calls++;
      if (calls === 1) await gate;
      return t.core.sessions.deleteUser(userId);
    },
  });
  await c.ready();
  await t.core.sessions.create({ userId: "ackless" });
  await bus.publish(c.subject, { user_id: "ackless" });
  await waitFor("the handler is running", () => calls === 1);
  // The consumer vanishes under the handler: its ack finds nobody to answer it.
  await bus.jsm.consumers.delete(c.stream, "session-service");
  release();
  await waitFor("the ack failure logged", () =>
    c.lines.some((l) => l.msg === "user.deleted handled but its ack failed; the redelivery will change nothing"),
  );
  expect(await c.count("handled")).toBeGreaterThanOrEqual(1);
  expect(await c.count("nak")).toBe(0);
  expect(await active("ackless")).toBe(0);
});

test("USER_DELETED_SOURCES: a CloudEvent from another source, or a plain payload, is terminated and changes nothing", async () => {
  const calls: string[] = [];
  const c = start(failing(0, calls), { allowedSources: ["identity-service"] });
  await c.ready();
  for (const user of ["spoofed", "plain", "trusted"]) await t.core.sessions.create({ userId: user });
  const event = (source: string, userId: string) => ({
    specversion: "1.0",
    id: crypto.randomUUID(),
    source,
    type: "user.deleted",
    data: { user_id: userId },
  });
  await bus.publish(c.subject, event("someone-else", "spoofed"));
  await bus.publish(c.subject, { user_id: "plain" });
  await bus.publish(c.subject, event("identity-service", "trusted"));
  await waitFor(
    "all three settled",
    async () => (await c.count("rejected_source")) === 2 && (await c.count("handled")) === 1,
  );
  expect(calls).toEqual(["trusted"]);
  expect([await active("spoofed"), await active("plain"), await active("trusted")]).toEqual([1, 1, 0]);
  const refused = c.lines.filter((l) => l.msg === "user.deleted terminated: source not allowed");
  expect(refused.map((l) => l.source)).toEqual(["someone-else", null]);
  expect(refused.every((l) => l.level === 40)).toBe(true);
});

test("stop() while the consumer is still being set up ends it (it used to wait for a message forever)", async () => {
  const c = start(failing(0));
  // At once: the consumer is still between connecting and consuming, with nothing yet to stop.
  const stopped = await Promise.race([
    running!.consumer.stop().then(() => "stopped"),
    Bun.sleep(10_000).then(() => "still running after 10 s"),
  ]);
  expect(stopped).toBe("stopped");
  // And it really stopped: a message published now is never handled.
  await t.core.sessions.create({ userId: "after-stop" });
  await bus.publish(c.subject, { user_id: "after-stop" });
  await Bun.sleep(300); // time a running consumer takes to handle it many times over
  expect(await c.count("handled")).toBe(0);
  expect(await active("after-stop")).toBe(1);
});

test("a termination's reason goes only to a nats-server that reads it (2.10.4+)", () => {
  expect(bus.nc.info?.version).toBeDefined();
  expect(["2.9.10", "2.10.3", "2.10.0-beta.1", "1.4.1", "", undefined].map(termTakesReason)).toEqual([
    false,
    false,
    false,
    false,
    false,
    false,
  ]);
  expect(["2.10.4", "2.10.29", "2.11.0", "2.12.3", "3.0.0"].map(termTakesReason)).toEqual([
    true,
    true,
    true,
    true,
    true,
  ]);
});

test("an existing consumer without a bound gets max_deliver; stream and consumer errors carry JetStream codes", async () => {
  const stream = `USERS${streams + 1}`;
  const missingStream = await bus.jsm.streams.info(stream).catch((error: unknown) => error);
  expect(jetStreamCode(missingStream)).toBe(JS_ERROR.streamNotFound);
  await bus.jsm.streams.add({ name: stream, subjects: [`user${streams + 1}.>`] });
  const missingConsumer = await bus.jsm.consumers.info(stream, "session-service").catch((error: unknown) => error);
  expect(jetStreamCode(missingConsumer)).toBe(JS_ERROR.consumerNotFound);
  expect(jetStreamCode(new Error("stream not found"))).toBeNull(); // the text alone means nothing
  await bus.jsm.consumers.add(stream, {
    durable_name: "session-service",
    ack_policy: "explicit" as never,
    filter_subject: `user${streams + 1}.deleted`,
  });
  expect((await bus.jsm.consumers.info(stream, "session-service")).config.max_deliver).toBe(-1);
  const c = start(failing(0), { maxDeliveries: 7 });
  expect(c.stream).toBe(stream);
  await waitFor(
    "max_deliver set",
    async () => (await bus.jsm.consumers.info(stream, "session-service")).config.max_deliver === 7,
  );
});
