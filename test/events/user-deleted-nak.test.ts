/**
 * A user.deleted that arrives while the store cannot write is nak'ed with a delay, not lost and
 * not terminated: once the store is free again the redelivery revokes the user's sessions.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { natsClient, type RunningNats, startNats } from "../support/nats";
import { client, dbFile, openDbReadOnly, type Pair, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dir = tempDir();
let nats: RunningNats;
afterAll(async () => {
  await pool.killAll();
  await nats?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const metric = (text: string, sample: string) =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(`${sample} `))
      ?.split(" ")[1] ?? 0,
  );

test("store locked past the busy timeout: nak, then handled once the lock is gone", async () => {
  nats = await startNats();
  const server = await pool.start(dir, { NATS_URL: nats.url });
  const api = client(server.url);
  const pair = (await (await api.create({ user_id: "locked-out" })).json()) as Pair;
  const nc = await natsClient(nats.url);
  try {
    await nc.waitForStream("USERS");
    await waitFor("consumer", () => nc.jsm.consumers.info("USERS", "session-service"));

    const blocker = new Database(dbFile(dir));
    blocker.run("BEGIN IMMEDIATE");
    try {
      await nc.publish("user.deleted", { user_id: "locked-out" });
      // The handler waits the 5 s busy timeout, answers unavailable, and naks.
      await waitFor(
        "a nak",
        async () =>
          metric(await (await fetch(`${server.url}/metrics`)).text(), 'user_deleted_messages_total{result="nak"}') >= 1,
        15_000,
        200,
      );
      const db = openDbReadOnly(dir);
      expect(db.query("select revoked_at from sessions where session_id = ?").get(pair.session_id)).toEqual({
        revoked_at: null,
      });
      db.close();
    } finally {
      blocker.run("ROLLBACK");
      blocker.close();
    }

    await waitFor(
      "the redelivery revoked the session",
      async () => (await api.me(pair.access_token)).status === 401,
      20_000,
      200,
    );
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(metric(text, 'user_deleted_messages_total{result="handled"}')).toBe(1);
    expect(metric(text, 'user_deleted_messages_total{result="terminated"}')).toBe(0);
    expect((await api.create({ user_id: "locked-out" })).status).toBe(409);
    const info = await nc.jsm.consumers.info("USERS", "session-service");
    expect(info.num_ack_pending).toBe(0);
    // One message in the stream, delivered more than once (the nak), acknowledged in the end.
    expect(info.delivered.stream_seq).toBe(1);
    expect(info.delivered.consumer_seq).toBeGreaterThan(1);
  } finally {
    await nc.close();
  }
}, 60_000);
