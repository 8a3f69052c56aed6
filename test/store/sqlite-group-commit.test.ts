/**
 * SQLite only (the other stores commit each call on its own): writes that arrive together share one
 * transaction, yet each succeeds or fails alone, and none is answered before the COMMIT.
 */
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openSqliteStore, type SqliteStore } from "../../db/sqlite/store";
import { tempDir } from "../support/core";
import { create, events, newRow, newUser, T0 } from "./contract/fixtures";

let dir: string;
let store: SqliteStore;
afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open() {
  dir = tempDir();
  store = await openSqliteStore({ path: join(dir, "s.db"), synchronous: "FULL", busyTimeoutMs: 5000 });
  return store;
}

test("a failing write in a batch is undone alone; the others commit", async () => {
  await open();
  const key = {
    kid: "k1",
    alg: "EdDSA",
    publicJwk: "{}",
    privateKeyEncrypted: "x",
    createdAt: T0,
    activatesAt: T0,
    retiredAt: null,
    mac: "m",
  };
  await store.signingKeys.insertSigningKey(key);
  const user = newUser();
  const results = await Promise.allSettled([
    store.sessions.create(newRow(user), 100, events),
    store.signingKeys.insertSigningKey(key), // duplicate kid: a constraint error inside the batch
    store.sessions.create(newRow(user), 100, events),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect((await store.sessions.listActiveSessions(user, T0)).length).toBe(2);
  expect((await store.outbox.pendingEvents(10)).length).toBe(2);
  expect((await store.signingKeys.listSigningKeys()).length).toBe(1);
});

test("concurrent writes share one commit and are all durable once answered", async () => {
  await open();
  const user = newUser();
  const rows = await Promise.all(Array.from({ length: 50 }, () => create(store, user)));
  // Another connection (another process, in effect) sees every answered write.
  const other = new Database(join(dir, "s.db"), { readonly: true });
  const n = other.query("select count(*) as n from sessions where user_id = ?").get(user) as { n: number };
  other.close();
  expect(n.n).toBe(rows.length);
});

test("the write lock held elsewhere past the busy timeout fails the whole batch as unavailable, writing nothing", async () => {
  dir = tempDir();
  store = await openSqliteStore({ path: join(dir, "s.db"), synchronous: "FULL", busyTimeoutMs: 200 });
  const blocker = new Database(join(dir, "s.db"));
  blocker.run("BEGIN IMMEDIATE");
  const user = newUser();
  const results = await Promise.allSettled([create(store, user), create(store, user)]);
  blocker.run("ROLLBACK");
  blocker.close();
  expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "unavailable" });
  expect((await store.sessions.listActiveSessions(user, T0)).length).toBe(0);
});
