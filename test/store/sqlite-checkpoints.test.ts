/**
 * SQLite only: with background checkpoints (the server's setting) a worker thread copies the WAL
 * into the database file while the store keeps writing, and SQLite's automatic checkpoint still
 * bounds the WAL.
 */
import { afterEach, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { openSqliteStore, type SqliteStore } from "../../db/sqlite/store";
import { tempDir } from "../support/core";
import { waitFor } from "../support/wait";
import { events, newRow, newUser, T0 } from "./contract/fixtures";

let dir: string;
let store: SqliteStore;
afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(backgroundCheckpoints: boolean) {
  dir = tempDir();
  store = await openSqliteStore({
    path: join(dir, "s.db"),
    synchronous: "FULL",
    busyTimeoutMs: 5000,
    backgroundCheckpoints,
  });
  await store.checkpointer?.ready;
  return store;
}

const size = (file: string) => statSync(join(dir, file)).size;

/** Sessions one by one: each is its own commit, as writes are when they arrive apart. */
async function writeSessions(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await store.sessions.create(newRow(newUser()), 0, events);
}

test.each([true, false])(
  "below the automatic checkpoint's 1000 pages, the database file fills only with background checkpoints (%p)",
  async (background) => {
    await open(background);
    const before = size("s.db");
    await writeSessions(40); // a few hundred WAL pages
    expect(size("s.db-wal")).toBeGreaterThan(100 * 4096);
    if (background) {
      await waitFor("the worker's checkpoint", () => size("s.db") > before + 20 * 4096, 5000);
    } else {
      await Bun.sleep(500);
      expect(size("s.db")).toBe(before);
    }
  },
);

test("under a steady stream of commits the WAL stays bounded (the automatic checkpoint still starts it over)", async () => {
  await open(true);
  await writeSessions(3000);
  // Without a checkpoint that reaches the end of the WAL it would pass 100 MiB here.
  expect(size("s.db-wal")).toBeLessThan(16 * 1024 * 1024);
  expect((await store.admin.stats(T0)).sessions.active).toBe(3000);
});
