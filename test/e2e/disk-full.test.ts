/**
 * Disk full: SQLite gets SQLITE_FULL for real. Writes answer 503 unavailable with Retry-After
 * (never 500), a logout never answers 2xx unless it was committed, and a refused write leaves the
 * store exactly as it was.
 *
 * With root (mount allowed) the real server runs on a small tmpfs that is then filled up; the
 * in-process variant, which runs everywhere, caps the file with PRAGMA max_page_count instead.
 */

import type { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { SqliteStore } from "../../db/sqlite/store";
import { openTestApp, serviceAuth, tempDir } from "../support/core";
import { expectUnavailable } from "../support/http";
import { client, openDbReadOnly, type Pair, ServerPool } from "../support/server";

const pool = new ServerPool();
const cleanups: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  await pool.killAll();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A session whose rows take a lot of room: big claims and user agent. */
const bulky = (userId: string) => ({
  user_id: userId,
  user_agent: "u".repeat(512),
  claims: { blob: "c".repeat(1900) },
});

function dump(db: Database): string {
  return JSON.stringify(
    ["sessions", "dpop_proofs", "outbox"].map((table) => db.query(`select * from ${table} order by rowid`).all()),
  );
}

interface Driver {
  create(body: Record<string, unknown>): Promise<Response>;
  logout(pair: Pair): Promise<Response>;
  refresh(pair: Pair): Promise<Response>;
  /** A fresh snapshot of every table a write could touch. */
  dump(): string;
}

/**
 * Drives the full store: creates until one answers 503 (each attempt either committed whole or not
 * at all), then logs out and refreshes the sessions (`existing` and those opened) one by one: a 204/200 must be committed, a 503 must
 * have changed nothing. Returns the sessions that were opened.
 */
async function exhaust(driver: Driver, existing: Pair[] = []): Promise<Pair[]> {
  const opened: Pair[] = [];
  let refused = 0;
  for (let i = 0; i < 400 && refused === 0; i++) {
    const before = driver.dump();
    const res = await driver.create(bulky(`full-${i}`));
    if (res.status === 503) {
      await expectUnavailable(res);
      expect(driver.dump()).toBe(before);
      refused++;
    } else {
      expect(res.status).toBe(201);
      opened.push((await res.json()) as Pair);
    }
  }
  expect(refused).toBe(1);

  let logoutsRefused = 0;
  let refreshesRefused = 0;
  const sessions = [...existing, ...opened];
  expect(sessions.length).toBeGreaterThan(0);
  // Refreshes update in place; each logout adds an outbox row, so going through all of them fills the store again.
  for (const pair of sessions) {
    let before = driver.dump();
    const refreshed = await driver.refresh(pair);
    if (refreshed.status === 503) {
      await expectUnavailable(refreshed);
      expect(driver.dump()).toBe(before);
      refreshesRefused++;
    } else {
      expect(refreshed.status).toBe(200);
    }
    before = driver.dump();
    const res = await driver.logout(pair);
    if (res.status === 503) {
      await expectUnavailable(res);
      expect(driver.dump()).toBe(before);
      logoutsRefused++;
    } else {
      expect(res.status).toBe(204);
      expect(driver.dump()).toContain(`"revoke_reason":"logout"`);
    }
  }
  // The store stayed full, so at least some of them were refused.
  expect(logoutsRefused + refreshesRefused).toBeGreaterThan(0);
  return opened;
}

test("in process: PRAGMA max_page_count makes SQLite answer SQLITE_FULL; 503 and the store unchanged", async () => {
  const t = await openTestApp();
  cleanups.push(() => t.close());
  const sqlite = (t.core.store as SqliteStore).database.client;
  const pages = (sqlite.query("pragma page_count").get() as { page_count: number }).page_count;
  sqlite.run(`pragma max_page_count = ${pages + 40}`);
  const bearer = (pair: Pair) => ({ authorization: `Bearer ${pair.access_token}` });
  const opened = await exhaust({
    create: (body) => t.call("POST", "/session", { body, headers: serviceAuth }),
    logout: (pair) => t.call("DELETE", `/session/${pair.session_id}`, { headers: bearer(pair) }),
    refresh: (pair) => t.call("POST", "/session/refresh", { body: { refresh_token: pair.refresh_token } }),
    dump: () => dump(sqlite),
  });
  // Room again: the same service goes on working.
  sqlite.run("pragma max_page_count = 1073741823");
  expect((await t.call("POST", "/session", { body: bulky("after"), headers: serviceAuth })).status).toBe(201);
  expect(opened.length).toBeGreaterThan(0);
  expect(sqlite.query("pragma integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
}, 30_000);

function tryMountTmpfs(dir: string, size: string): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  return (
    Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stderr: "ignore" }).exitCode === 0
  );
}

/** Writes until the file system refuses (ENOSPC), page by page at the end. */
function fillUp(path: string) {
  const fd = openSync(path, "w");
  try {
    for (const size of [1 << 16, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const mountPoint = tempDir("session-full-");
const mounted = tryMountTmpfs(mountPoint, "3m");
cleanups.push(() => {
  if (mounted) Bun.spawnSync(["umount", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

test.skipIf(!mounted)(
  "real server on a full tmpfs: 503 unavailable with Retry-After, the store unchanged",
  async () => {
    const dir = join(mountPoint, "db");
    mkdirSync(dir);
    const server = await pool.start(dir);
    const api = client(server.url);
    // Sessions made while there is room; then the file system is filled to the last byte.
    const early: Pair[] = [];
    for (let i = 0; i < 10; i++) early.push((await (await api.create(bulky(`early-${i}`))).json()) as Pair);
    const [keep, ...others] = early as [Pair, ...Pair[]];
    const filler = join(mountPoint, "filler");
    fillUp(filler);

    await exhaust(
      {
        create: (body) => api.create(body),
        logout: (pair) => api.logout(pair.access_token, pair.session_id),
        refresh: (pair) => api.refresh(pair.refresh_token),
        dump: () => {
          const db = openDbReadOnly(dir);
          try {
            return dump(db);
          } finally {
            db.close();
          }
        },
      },
      others,
    );

    // Room again: the server goes on, and what was there before is intact.
    rmSync(filler);
    const after = await api.create(bulky("after"));
    expect(after.status).toBe(201);
    expect((await api.me(keep.access_token)).status).toBe(200);
    expect((await api.refresh(keep.refresh_token)).status).toBe(200);
    // (Not one of `others`: exhaust may have logged any of them out, whenever a checkpoint had
    // made room in the WAL for that commit.)
    const fresh = (await after.json()) as Pair;
    expect((await api.logout(fresh.access_token, fresh.session_id)).status).toBe(204);
    expect((await api.me(fresh.access_token)).status).toBe(401);
    expect((await api.readyz()).status).toBe(200);
    expect(await server.stop()).toBe(0);
    const db = openDbReadOnly(dir);
    try {
      expect(db.query("pragma integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    } finally {
      db.close();
    }
  },
  30_000,
);
