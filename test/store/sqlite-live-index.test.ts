/**
 * A user's cost is what the user holds now, not every session they ever had (issue 12, finding 7):
 * the reads behind create (the cap) and /session/me go through a partial index of unrevoked
 * sessions only, so ended sessions are never visited. Checked on SQLite's own query plan.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openSqliteStore } from "../../db/sqlite/store";
import { TempDirs } from "../support/core";

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

test("the live sessions of a user are read through the partial index sessions_live_by_user", async () => {
  const store = await openSqliteStore({ path: join(dirs.make(), "s.db"), synchronous: "NORMAL", busyTimeoutMs: 5000 });
  try {
    const client = store.database.client;
    // 5,000 ended sessions of one user next to one live one, and statistics as a running store has them.
    const insert = client.prepare(
      `insert into sessions (session_id, user_id, refresh_token_hash, created_at, last_used_at, absolute_expires_at,
         expires_at, access_expires_at, revoked_at, revoke_reason) values (?, 'heavy', ?, 1, ?, 9e15, 9e15, 1, ?, ?)`,
    );
    client.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(crypto.randomUUID(), `h${i}`, i, i, "logout");
      insert.run(crypto.randomUUID(), "live", 6000, null, null);
    })();
    client.run("analyze");
    const plan = client
      .query<{ detail: string }, [string, number]>(
        "explain query plan select * from sessions where user_id = ?1 and revoked_at is null and expires_at > ?2",
      )
      .all("heavy", 0)
      .map((row) => row.detail)
      .join("\n");
    expect(plan).toContain("sessions_live_by_user");
    expect((await store.sessions.listActiveSessions("heavy", 0)).length).toBe(1);
    const index = client
      .query<{ n: number }, []>(
        "select count(*) as n from sessions indexed by sessions_live_by_user where revoked_at is null",
      )
      .get()!.n;
    expect(index).toBe(1); // the index holds the live session only
  } finally {
    await store.close();
  }
});
