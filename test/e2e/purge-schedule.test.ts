/**
 * The server deletes ended sessions on its own schedule (PURGE_AFTER; issue 12, finding 7), so a
 * user's past sessions do not pile up, and an active session is never touched.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { client, openDbReadOnly, type Pair, type RunningServer, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dir = tempDir();
let server: RunningServer;

beforeAll(async () => {
  server = await pool.start(dir, { PURGE_AFTER: "1s", PURGE_INTERVAL: "100ms" });
});
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const sessionIds = () => {
  const db = openDbReadOnly(dir);
  try {
    return db
      .query<{ id: string }, []>("select session_id as id from sessions")
      .all()
      .map((r) => r.id);
  } finally {
    db.close();
  }
};

test("a session that ended more than PURGE_AFTER ago is deleted by the server; an active one stays", async () => {
  const api = client(server.url);
  const ended = (await (await api.create({ user_id: "alice" })).json()) as Pair;
  const active = (await (await api.create({ user_id: "alice" })).json()) as Pair;
  expect((await api.logout(ended.access_token, ended.session_id)).status).toBe(204);
  expect(sessionIds()).toContain(ended.session_id);
  await waitFor("the scheduled purge", () => !sessionIds().includes(ended.session_id));
  expect(sessionIds()).toEqual([active.session_id]);
  expect((await api.me(active.access_token)).status).toBe(200);
  await waitFor("the purge's log line", () => server.logs().includes("purged ended sessions"));
});
