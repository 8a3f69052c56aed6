/**
 * Storage per session is O(1) in its number of rotations (issue 12, finding 8), while any older
 * token of the chain is still recognised as reuse. Counts every row of every table of the real
 * server's SQLite file, so it reads the same against any version of the service.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { client, openDbReadOnly, type Pair, type RunningServer, ServerPool } from "../support/server";

const pool = new ServerPool();
const dir = tempDir();
let server: RunningServer;

beforeAll(async () => {
  server = await pool.start(dir, { LOG_LEVEL: "warn" });
});
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Rows in every table of the database, by table. */
function rowCounts(): Record<string, number> {
  const db = openDbReadOnly(dir);
  try {
    const tables = db.query<{ name: string }, []>("select name from sqlite_master where type = 'table'").all();
    return Object.fromEntries(
      tables.map(({ name }) => [name, db.query<{ n: number }, []>(`select count(*) as n from "${name}"`).get()!.n]),
    );
  } finally {
    db.close();
  }
}

test("200 rotations add no row anywhere; the first, a middle and the previous token are all reuse", async () => {
  const api = client(server.url);
  const tokens: string[] = [];
  let pair = (await (await api.create({ user_id: "rotator" })).json()) as Pair;
  tokens.push(pair.refresh_token);
  for (let i = 0; i < 10; i++) {
    pair = (await (await api.refresh(pair.refresh_token)).json()) as Pair;
    tokens.push(pair.refresh_token);
  }
  const after10 = rowCounts();
  for (let i = 0; i < 190; i++) {
    const res = await api.refresh(pair.refresh_token);
    expect(res.status).toBe(200);
    pair = (await res.json()) as Pair;
    tokens.push(pair.refresh_token);
  }
  expect(rowCounts()).toEqual(after10);

  // Every older token is still reuse; presenting one revokes the session (once).
  for (const old of [tokens[0]!, tokens[100]!, tokens[199]!]) {
    expect((await api.refresh(old)).status).toBe(401);
  }
  expect(await (await api.validate(pair.refresh_token)).json()).toEqual({ active: false });
  const db = openDbReadOnly(dir);
  try {
    const row = db
      .query<{ revoke_reason: string }, [string]>("select revoke_reason from sessions where session_id = ?")
      .get(pair.session_id);
    expect(row!.revoke_reason).toBe("refresh_token_reuse");
  } finally {
    db.close();
  }
}, 60_000);
