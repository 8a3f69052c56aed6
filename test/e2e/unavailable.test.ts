/**
 * The store locked past the busy timeout: another connection holds the write lock (BEGIN IMMEDIATE
 * in this test process). Every write answers 503 unavailable with Retry-After, never 500, reads go
 * on, /readyz says 503, and once the lock is gone nothing was half-written and everything works.
 *
 * bun:sqlite waits for the lock synchronously, so one server process serves one waiting write at a
 * time; each write goes to its own process on the same file, so the test takes one busy timeout.
 */

import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { expectUnavailable } from "../support/http";
import { client, dbFile, openDbReadOnly, type Pair, type RunningServer, ServerPool } from "../support/server";

const pool = new ServerPool();
const dir = tempDir("session-locked-");
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const BUSY_TIMEOUT_MS = 5000;

/** Everything a write could touch. */
function dump(): string {
  const db = openDbReadOnly(dir);
  try {
    return JSON.stringify(
      ["sessions", "dpop_proofs", "outbox", "deleted_users"].map((table) =>
        db.query(`select * from ${table} order by rowid`).all(),
      ),
    );
  } finally {
    db.close();
  }
}

async function pairOf(res: Response, status: number): Promise<Pair> {
  expect(res.status).toBe(status);
  return (await res.json()) as Pair;
}

test("write lock held past the busy timeout: 503 unavailable with Retry-After, nothing half-written", async () => {
  const env = { SQLITE_BUSY_TIMEOUT: `${BUSY_TIMEOUT_MS / 1000}s` };
  const servers: RunningServer[] = [];
  servers.push(await pool.start(dir, env)); // the first one migrates the file
  servers.push(...(await Promise.all(Array.from({ length: 5 }, () => pool.start(dir, env)))));
  const [s0, s1, s2, s3, s4, s5] = servers.map((s) => client(s.url)) as [
    ReturnType<typeof client>,
    ...ReturnType<typeof client>[],
  ];

  const del = await pairOf(await s0.create({ user_id: "locked-del" }), 201);
  const ref = await pairOf(await s0.create({ user_id: "locked-ref" }), 201);
  const rev = await pairOf(await s0.create({ user_id: "locked-rev" }), 201);
  const all = await pairOf(await s0.create({ user_id: "locked-all" }), 201);
  const before = dump();

  const lock = new Database(dbFile(dir));
  lock.run("PRAGMA busy_timeout = 0");
  lock.run("BEGIN IMMEDIATE");
  let elapsed: number[] = [];
  try {
    // Reads go on under the write lock (WAL).
    expect(await (await s0.validate(ref.refresh_token)).json()).toMatchObject({ active: true });
    expect((await s0.me(del.access_token)).status).toBe(200);

    const started = Date.now();
    const timed = async (request: Promise<Response>) => {
      const res = await request;
      return { res, ms: Date.now() - started };
    };
    const answers = await Promise.all([
      timed(s0.create({ user_id: "locked-new" })),
      timed(s1!.logout(del.access_token, del.session_id)),
      timed(s2!.refresh(ref.refresh_token)),
      timed(s3!.revoke(rev.refresh_token)),
      timed(s4!.logoutAll(all.access_token)),
      timed(s5!.readyz()),
    ]);
    elapsed = answers.map((a) => a.ms);
    for (const { res } of answers.slice(0, 5)) await expectUnavailable(res);
    const ready = answers[5]!.res;
    expect(ready.status).toBe(503);
    expect(ready.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await ready.json()).toMatchObject({ checks: { store: "unavailable" } });
    // Still locked: nothing could have been written behind our back.
    expect(lock.inTransaction).toBe(true);
  } finally {
    lock.run("ROLLBACK");
    lock.close();
  }
  // Each write waited for the busy timeout before giving up (not failing fast).
  for (const ms of elapsed) expect(ms).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 100);

  // Lock released: the store is exactly as before, no half-written change and no outbox row.
  expect(dump()).toBe(before);
  for (const s of servers) expect((await client(s.url).readyz()).status).toBe(200);
  // The sessions whose logout got 503 still work, and the refresh token that got 503 is still current.
  expect((await s1!.me(del.access_token)).status).toBe(200);
  expect(await (await s3!.validate(rev.refresh_token)).json()).toMatchObject({
    active: true,
    session_id: rev.session_id,
  });
  expect((await s4!.me(all.access_token)).status).toBe(200);
  const rotated = await pairOf(await s2!.refresh(ref.refresh_token), 200);
  expect(rotated.session_id).toBe(ref.session_id);
  // And the refused writes now succeed.
  expect((await s0.create({ user_id: "locked-new" })).status).toBe(201);
  expect((await s1!.logout(del.access_token, del.session_id)).status).toBe(204);
  expect((await s1!.me(del.access_token)).status).toBe(401);

  for (const s of servers) expect(await s.stop()).toBe(0);
}, 30_000);
