/**
 * The user.deleted consumer against a real nats-server: both payload shapes, duplicates and
 * re-processing change nothing twice, poison payloads are terminated without stalling the
 * consumer, it survives a nats-server restart, and it wins the race with creates and refreshes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { type NatsClient, natsClient, type RunningNats, startNats } from "../support/nats";
import { client, openDbReadOnly, type Pair, type RunningServer, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";
import { cloudEvent, outboxState } from "./helpers";

const pool = new ServerPool();
let dir: string;
let nats: RunningNats;
let bus: NatsClient;
let server: RunningServer;

beforeAll(async () => {
  nats = await startNats();
  bus = await natsClient(nats.url);
  dir = tempDir("session-user-deleted-");
  // No session limit: the race below opens many sessions for one user.
  server = await pool.start(dir, { NATS_URL: nats.url, MAX_SESSIONS_PER_USER: "0" });
  await bus.waitForStream("USERS");
  await waitFor("consumer session-service", () => bus.jsm.consumers.info("USERS", "session-service"));
});

afterAll(async () => {
  await pool.killAll();
  await bus?.close();
  await nats?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const api = () => client(server.url);

async function open(userId: string): Promise<Pair> {
  const res = await api().create({ user_id: userId });
  expect(res.status).toBe(201);
  return (await res.json()) as Pair;
}

function query<T>(sql: string, ...params: Array<string | number>): T[] {
  const db = openDbReadOnly(dir);
  try {
    return db.query(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const activeCount = (userId: string) =>
  query<{ n: number }>("select count(*) as n from sessions where user_id = ? and revoked_at is null", userId)[0]!.n;

const sessionsOf = (userId: string) =>
  query<{ session_id: string; revoked_at: number | null; revoke_reason: string | null }>(
    "select session_id, revoked_at, revoke_reason from sessions where user_id = ?",
    userId,
  );

/** The consumer has been handed every message of USERS and holds none unacknowledged. */
async function consumerCaughtUp(timeoutMs = 15_000) {
  return waitFor(
    "consumer caught up",
    async () => {
      const last = (await bus.jsm.streams.info("USERS")).state.last_seq;
      const info = await bus.jsm.consumers.info("USERS", "session-service");
      return info.delivered.stream_seq >= last && info.num_pending === 0 && info.num_ack_pending === 0 ? info : null;
    },
    timeoutMs,
  );
}

/** session.revoked documents in SESSIONS for a user, once the outbox is drained. */
async function revokedEventsOf(userId: string) {
  await waitFor("outbox drained", () => outboxState(dir).unsent === 0);
  return (await bus.readAll("SESSIONS"))
    .map(cloudEvent)
    .filter((doc) => doc.type === "session.revoked" && doc.data.user_id === userId);
}

async function expectRefusedCreate(userId: string) {
  const res = await api().create({ user_id: userId });
  expect(res.status).toBe(409);
  expect(((await res.json()) as { error: string }).error).toBe("user_deleted");
}

const cloudEventOf = (userId: string) => ({
  specversion: "1.0",
  id: crypto.randomUUID(),
  source: "auth-service",
  type: "user.deleted",
  subject: userId,
  time: new Date().toISOString(),
  datacontenttype: "application/json",
  data: { user_id: userId },
});

const consumerLogLines = () =>
  server
    .logs()
    .split("\n")
    .filter((line) => line.includes("terminated"));

describe("user.deleted", () => {
  test("is consumed by the durable consumer session-service on stream USERS (user.>) with explicit acks", async () => {
    const info = await bus.jsm.consumers.info("USERS", "session-service");
    expect(info.stream_name).toBe("USERS");
    expect(info.config.durable_name).toBe("session-service");
    expect(info.config.ack_policy).toBe("explicit" as typeof info.config.ack_policy);
    expect((await bus.jsm.streams.info("USERS")).config.subjects).toEqual(["user.>"]);
  });

  test("a CloudEvents and a plain payload each revoke every session of their user (user_deleted, one event each); later creates are 409", async () => {
    const ce = [await open("ud-ce"), await open("ud-ce"), await open("ud-ce")];
    const plain = [await open("ud-plain"), await open("ud-plain")];
    const bystander = await open("ud-bystander");

    await bus.publish("user.deleted", cloudEventOf("ud-ce"));
    await bus.publish("user.deleted", { user_id: "ud-plain" });
    await waitFor("both users revoked", () => activeCount("ud-ce") === 0 && activeCount("ud-plain") === 0);

    for (const userId of ["ud-ce", "ud-plain"]) {
      expect(sessionsOf(userId).map((s) => s.revoke_reason)).toEqual(
        userId === "ud-ce" ? Array(3).fill("user_deleted") : Array(2).fill("user_deleted"),
      );
      await expectRefusedCreate(userId);
    }
    for (const pair of [...ce, ...plain]) expect((await api().me(pair.access_token)).status).toBe(401);
    // Another user is untouched.
    expect((await api().me(bystander.access_token)).status).toBe(200);

    const ceEvents = await revokedEventsOf("ud-ce");
    expect(ceEvents.map((e) => e.subject).sort()).toEqual(ce.map((p) => p.session_id).sort());
    const plainEvents = await revokedEventsOf("ud-plain");
    expect(plainEvents.map((e) => e.subject).sort()).toEqual(plain.map((p) => p.session_id).sort());
    for (const event of [...ceEvents, ...plainEvents]) expect(event.data.reason).toBe("user_deleted");
    expect(await revokedEventsOf("ud-bystander")).toEqual([]);
  }, 30_000);

  test("the same message published twice, and a user without sessions, revoke nothing twice and emit nothing twice", async () => {
    const twice = [await open("ud-twice"), await open("ud-twice")];
    const message = cloudEventOf("ud-twice");
    // Distinct Nats-Msg-Ids, so JetStream stores (and delivers) both copies.
    await bus.publish("user.deleted", message, crypto.randomUUID());
    await bus.publish("user.deleted", message, crypto.randomUUID());
    await bus.publish("user.deleted", { user_id: "ud-none" });
    await bus.publish("user.deleted", { user_id: "ud-none" });
    await consumerCaughtUp();

    expect(activeCount("ud-twice")).toBe(0);
    const revokedAt = sessionsOf("ud-twice").map((s) => s.revoked_at);
    const events = await revokedEventsOf("ud-twice");
    expect(events.map((e) => e.subject).sort()).toEqual(twice.map((p) => p.session_id).sort());
    expect(query("select * from outbox where payload like ?", "%ud-none%")).toEqual([]);
    await expectRefusedCreate("ud-none");
    await expectRefusedCreate("ud-twice");
    // The second copy did not move the revocation time either.
    expect(sessionsOf("ud-twice").map((s) => s.revoked_at)).toEqual(revokedAt);
  }, 30_000);

  test("poison payloads are terminated (not redelivered) and logged, and later good messages are still handled", async () => {
    const termsBefore = consumerLogLines().length;
    const poison: Array<string | Uint8Array> = [
      "not json at all",
      "{}",
      JSON.stringify({ id: "no user here" }),
      JSON.stringify({ user_id: 42 }),
      JSON.stringify({ user_id: null }),
      JSON.stringify({ user_id: "" }),
      JSON.stringify({ ...cloudEventOf("x"), data: { user: "x" } }),
      JSON.stringify([{ user_id: "array" }]),
      new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]),
      new Uint8Array(0),
    ];
    // JetStream announces each term() as an advisory: collect them to tell term from a plain ack.
    const terminated: number[] = [];
    const advisories = bus.nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.USERS.session-service", {
      callback: (_err, msg) => terminated.push((msg.json() as { stream_seq: number }).stream_seq),
    });
    await bus.nc.flush();
    const poisonSeqs: number[] = [];
    for (const payload of poison) poisonSeqs.push((await bus.publish("user.deleted", payload)).seq);
    const after = await open("ud-after-poison");
    await bus.publish("user.deleted", { user_id: "ud-after-poison" });
    await waitFor("good message after the poison handled", () => activeCount("ud-after-poison") === 0);
    expect((await api().me(after.access_token)).status).toBe(401);

    const caughtUp = await consumerCaughtUp();
    expect(caughtUp.num_redelivered).toBe(0);
    // Longer than the consumer's nak delay: a nak'ed message would be back by now.
    await Bun.sleep(2_500);
    const info = await bus.jsm.consumers.info("USERS", "session-service");
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(info.delivered.consumer_seq).toBe(caughtUp.delivered.consumer_seq);
    expect(consumerLogLines().length - termsBefore).toBe(poison.length);
    await waitFor("a termination advisory per poison message", () => terminated.length >= poison.length, 5_000);
    advisories.unsubscribe();
    expect(terminated.sort((a, b) => a - b)).toEqual(poisonSeqs);
    // The poison did not touch any session, and the log names no payload content.
    expect(query("select * from deleted_users where user_id in ('x', 'array', '42')")).toEqual([]);
  }, 30_000);

  test("the consume loop survives a nats-server restart", async () => {
    const pair = await open("ud-after-restart");
    await nats.restart();
    const msgID = crypto.randomUUID(); // retries below are deduplicated by JetStream
    await waitFor(
      "publish after restart",
      () => bus.publish("user.deleted", { user_id: "ud-after-restart" }, msgID),
      15_000,
      100,
    );
    await waitFor("handled after restart", () => activeCount("ud-after-restart") === 0, 30_000);
    expect((await api().me(pair.access_token)).status).toBe(401);
    expect((await revokedEventsOf("ud-after-restart")).map((e) => e.subject)).toEqual([pair.session_id]);
  }, 60_000);

  test("re-processing every user.deleted (consumer recreated from the start) revokes and emits nothing again", async () => {
    await consumerCaughtUp();
    await waitFor("outbox drained", () => outboxState(dir).unsent === 0);
    const outboxBefore = outboxState(dir).ids.length;
    const streamBefore = await bus.count("SESSIONS");
    const handledBefore = server
      .logs()
      .split("\n")
      .filter((l) => l.includes("sessions revoked")).length;

    await server.stop();
    await bus.jsm.consumers.delete("USERS", "session-service");
    server = await pool.start(dir, { NATS_URL: nats.url, MAX_SESSIONS_PER_USER: "0" });
    await waitFor("consumer recreated", () => bus.jsm.consumers.info("USERS", "session-service"));
    await consumerCaughtUp(20_000);
    // Every good message was handled again by the new process (its log line follows the ack, so
    // wait for the lines rather than assume they are flushed)...
    const handled = () =>
      server
        .logs()
        .split("\n")
        .filter((l) => l.includes("sessions revoked")).length;
    await waitFor("every good message handled again", () => handled() >= handledBefore, 20_000);
    expect(handled()).toBe(handledBefore);
    // ...and nothing changed: each handling had committed (or not) before it logged.
    expect(outboxState(dir).ids.length).toBe(outboxBefore);
    expect(await bus.count("SESSIONS")).toBe(streamBefore);
  }, 60_000);

  test("race: user.deleted while creates and refreshes for the user are in flight leaves no active session; creates after the mark are 409", async () => {
    const userId = "ud-race";
    const initial = await Promise.all(Array.from({ length: 8 }, () => open(userId)));
    let stop = false;
    const creates: Array<{ startedAt: number; status: number; sessionId?: string }> = [];
    const refreshes: Array<{ startedAt: number; status: number }> = [];

    const createWorker = async () => {
      while (!stop) {
        const startedAt = Date.now();
        const res = await api().create({ user_id: userId });
        const body = (await res.json()) as Partial<Pair>;
        creates.push({ startedAt, status: res.status, sessionId: body.session_id });
      }
    };
    const refreshWorker = async (pair: Pair) => {
      let token = pair.refresh_token;
      while (!stop) {
        const startedAt = Date.now();
        const res = await api().refresh(token);
        refreshes.push({ startedAt, status: res.status });
        if (res.status !== 200) break;
        token = ((await res.json()) as Pair).refresh_token;
      }
    };
    const workers = [...Array.from({ length: 4 }, createWorker), ...initial.map(refreshWorker)];

    await Bun.sleep(250);
    await bus.publish("user.deleted", { user_id: userId });
    const mark = await waitFor(
      "deleted mark",
      () => query<{ deleted_at: number }>("select deleted_at from deleted_users where user_id = ?", userId)[0],
    );
    await Bun.sleep(250);
    stop = true;
    await Promise.all(workers);

    expect(activeCount(userId)).toBe(0);
    const before = creates.filter((c) => c.startedAt < mark.deleted_at);
    const after = creates.filter((c) => c.startedAt > mark.deleted_at);
    // The race really happened: sessions were opened right up to the mark, and creates came after it.
    expect(before.filter((c) => c.status === 201).length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((c) => c.status !== 409)).toEqual([]);
    expect(creates.filter((c) => c.status !== 201 && c.status !== 409)).toEqual([]);
    expect(refreshes.filter((r) => r.startedAt > mark.deleted_at && r.status !== 401)).toEqual([]);
    expect(refreshes.filter((r) => r.status !== 200 && r.status !== 401)).toEqual([]);

    // Every session of the user ended by user_deleted, with exactly one session.revoked each.
    const rows = sessionsOf(userId);
    expect(rows.length).toBe(8 + creates.filter((c) => c.status === 201).length);
    expect(new Set(rows.map((r) => r.revoke_reason))).toEqual(new Set(["user_deleted"]));
    const events = await revokedEventsOf(userId);
    expect(events.length).toBe(rows.length);
    expect(new Set(events.map((e) => e.subject))).toEqual(new Set(rows.map((r) => r.session_id)));
    for (const event of events) expect(event.data.reason).toBe("user_deleted");
  }, 60_000);
});
