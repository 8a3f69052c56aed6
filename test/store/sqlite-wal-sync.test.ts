/**
 * SQLite `synchronous=FULL` with the WAL's sync in the thread pool (db/sqlite/wal-sync.ts): one
 * sync per group commit, no write answered and no read answered before the sync that covers what
 * it saw, a failed sync failing the database closed, and NORMAL untouched. A held sync stands in
 * for a slow disk; the last test runs the real fdatasync on the real -wal file.
 */
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { fdatasync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openSqliteStore, type SqliteStore } from "../../db/sqlite/store";
import type { SyncFile } from "../../db/sqlite/wal-sync";
import { tempDir } from "../support/core";
import { create, newUser, T0 } from "./contract/fixtures";

let dir: string;
let store: SqliteStore | undefined;
afterEach(async () => {
  for (const done of held.splice(0)) done(null);
  await store?.close();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Syncs that wait until the test lets them finish (with an error or not). */
const held: Array<(error: Error | null) => void> = [];
const heldSync: SyncFile = (_fd, done) => void held.push(done);

async function open(synchronous: "FULL" | "NORMAL", syncFile: SyncFile = heldSync): Promise<SqliteStore> {
  dir = tempDir();
  store = await openSqliteStore({ path: join(dir, "s.db"), synchronous, busyTimeoutMs: 5000, syncFile });
  return store;
}

/** Whether a promise has settled after the event loop ran a few turns. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

const synchronousPragma = (s: SqliteStore) =>
  (s.database.client.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;

test("FULL: the connection commits NORMAL and every group commit waits for one sync of the WAL", async () => {
  const s = await open("FULL");
  expect(synchronousPragma(s)).toBe(1); // NORMAL: the sync after each commit is ours now
  const user = newUser();
  const writes = Promise.all(Array.from({ length: 20 }, () => create(s, user)));
  expect(await settled(writes)).toBe(false);
  expect(held.length).toBe(1); // twenty writes, one batch, one sync
  held.shift()!(null);
  expect((await writes).length).toBe(20);
});

test("FULL: a write is answered only after its sync; committed rows are not read out before it", async () => {
  const s = await open("FULL");
  const user = newUser();
  const write = create(s, user);
  expect(await settled(write)).toBe(false);
  // The row is committed (another connection sees it), but this store's reads wait for the sync.
  const other = new Database(join(dir, "s.db"), { readonly: true });
  expect((other.query("select count(*) as n from sessions where user_id = ?").get(user) as { n: number }).n).toBe(1);
  other.close();
  const read = s.sessions.listActiveSessions(user, T0);
  expect(await settled(read)).toBe(false);
  held.shift()!(null);
  const row = await write;
  expect((await read).map((r) => r.sessionId)).toEqual([row.sessionId]);
  // With no sync in flight a read answers at once.
  expect(await settled(s.sessions.findSession(row.sessionId))).toBe(true);
});

test("FULL: a failed sync answers its writes unavailable and fails the database closed", async () => {
  const s = await open("FULL");
  const user = newUser();
  const write = create(s, user);
  expect(await settled(write)).toBe(false);
  const read = s.sessions.listActiveSessions(user, T0); // sees the committed row: must not answer with it
  held.shift()!(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
  const [wrote, readOut] = await Promise.allSettled([write, read]);
  expect(wrote).toMatchObject({ status: "rejected", reason: { code: "unavailable" } });
  expect(readOut).toMatchObject({ status: "rejected", reason: { code: "unavailable" } });
  // What is on disk is no longer known: every later read and write is refused, none reaches SQLite.
  await expect(s.sessions.listActiveSessions(user, T0)).rejects.toMatchObject({ code: "unavailable" });
  await expect(create(s, newUser())).rejects.toMatchObject({ code: "unavailable" });
  await expect(s.checkWritable()).rejects.toMatchObject({ code: "unavailable" }); // /readyz: 503
  expect(held.length).toBe(0);
});

test("FULL: one sync at a time; commits made meanwhile share the next, which starts when it ends", async () => {
  const s = await open("FULL");
  const first = create(s, newUser());
  expect(await settled(first)).toBe(false);
  const later = [create(s, newUser())];
  expect(await settled(later[0]!)).toBe(false);
  later.push(create(s, newUser()));
  expect(await settled(later[1]!)).toBe(false);
  expect(held.length).toBe(1); // three batches committed, the first one's sync still running
  held.shift()!(null);
  await first;
  expect(await settled(Promise.all(later))).toBe(false);
  expect(held.length).toBe(1); // one sync for both later batches
  held.shift()!(null);
  expect((await Promise.all(later)).length).toBe(2);
});

test("FULL: a failed sync fails the batches waiting for the next one too, without syncing again", async () => {
  const s = await open("FULL");
  const first = create(s, newUser());
  expect(await settled(first)).toBe(false);
  const second = create(s, newUser());
  expect(await settled(second)).toBe(false);
  held.shift()!(new Error("EIO"));
  const outcomes = await Promise.allSettled([first, second]);
  for (const outcome of outcomes)
    expect(outcome).toMatchObject({ status: "rejected", reason: { code: "unavailable" } });
  expect(held.length).toBe(0);
});

test("NORMAL: nothing changes — no sync of ours, writes answered after COMMIT", async () => {
  const s = await open("NORMAL");
  expect(synchronousPragma(s)).toBe(1);
  const row = await create(s, newUser());
  expect(held.length).toBe(0);
  expect((await s.sessions.findSession(row.sessionId))?.sessionId).toBe(row.sessionId);
});

test("FULL with the real fdatasync: it syncs the database's -wal file, and answered writes are there for another connection", async () => {
  const synced: string[] = [];
  const s = await open("FULL", (fd, done) => {
    synced.push(readlinkSync(`/proc/self/fd/${fd}`));
    fdatasync(fd, done);
  });
  const user = newUser();
  const rows = await Promise.all(Array.from({ length: 10 }, () => create(s, user)));
  await create(s, user);
  expect(synced.length).toBeGreaterThanOrEqual(1);
  expect(new Set(synced)).toEqual(new Set([join(dir, "s.db-wal")]));
  const other = new Database(join(dir, "s.db"), { readonly: true });
  expect((other.query("select count(*) as n from sessions where user_id = ?").get(user) as { n: number }).n).toBe(
    rows.length + 1,
  );
  other.close();
});
