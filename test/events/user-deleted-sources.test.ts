/**
 * USER_DELETED_SOURCES through the real server process: with it set, a user.deleted from a source
 * not listed is terminated (counted, logged, the user keeps their sessions) and one from a listed
 * source revokes them.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { natsClient, type RunningNats, startNats } from "../support/nats";
import { client, type Pair, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dir = tempDir("session-sources-");
let nats: RunningNats;
afterAll(async () => {
  await pool.killAll();
  await nats?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const metric = async (url: string, result: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`user_deleted_messages_total{result="${result}"} `));
  return Number(line?.split(" ")[1] ?? 0);
};

test("only the listed CloudEvents source may delete a user", async () => {
  nats = await startNats();
  const server = await pool.start(dir, { NATS_URL: nats.url, USER_DELETED_SOURCES: "identity-service" });
  const api = client(server.url);
  const pair = (await (await api.create({ user_id: "victim" })).json()) as Pair;
  const nc = await natsClient(nats.url);
  try {
    await nc.waitForStream("USERS");
    await waitFor("consumer", () => nc.jsm.consumers.info("USERS", "session-service"));
    const event = (source: string) => ({
      specversion: "1.0",
      id: crypto.randomUUID(),
      source,
      type: "user.deleted",
      data: { user_id: "victim" },
    });
    await nc.publish("user.deleted", event("attacker"));
    await waitFor("the spoofed event refused", async () => (await metric(server.url, "rejected_source")) === 1);
    expect((await api.me(pair.access_token)).status).toBe(200);
    const line = await waitFor("the refusal's log line", () =>
      server
        .logs()
        .split("\n")
        .find((l) => l.includes('"msg":"user.deleted terminated: source not allowed"')),
    );
    expect(line).toContain('"source":"attacker"');

    await nc.publish("user.deleted", event("identity-service"));
    await waitFor("the real event handled", async () => (await metric(server.url, "handled")) === 1);
    expect((await api.me(pair.access_token)).status).toBe(401);
    expect((await api.create({ user_id: "victim" })).status).toBe(409);
  } finally {
    await nc.close();
  }
}, 60_000);
