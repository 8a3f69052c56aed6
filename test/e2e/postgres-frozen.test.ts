/**
 * A PostgreSQL that stops answering without closing its sockets (SIGSTOP of the postmaster and its
 * backends, as a stalled disk or a paused VM looks from outside): its own statement_timeout cannot
 * fire, so the service's calls need deadlines of their own. Requests answer 503 within about the
 * statement timeout instead of hanging, a transaction given up on is rolled back rather than
 * committed once the server wakes, and the service serves again as soon as it does.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { TempDirs } from "../support/core";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres";
import { client, type Pair, ServerPool } from "../support/server";

const pool = new ServerPool();
const dirs = new TempDirs();
let pg: PrivatePostgres;

beforeAll(async () => {
  pg = await startPrivatePostgres();
});

afterAll(async () => {
  pg?.thaw();
  await pool.killAll();
  pg?.cleanup();
  dirs.removeAll();
});

/** The answer's status, or "no answer" when none came within `ms`. */
async function statusWithin(request: Promise<Response>, ms: number): Promise<number | "no answer"> {
  const timeout = Bun.sleep(ms).then(() => "no answer" as const);
  return Promise.race([request.then((res) => res.status), timeout]);
}

test("PostgreSQL frozen: 503 within the deadline, nothing committed after the thaw, served again", async () => {
  const server = await pool.start(dirs.make(), { DATABASE_URL: pg.url });
  const api = client(server.url);
  const before = await api.create({ user_id: "frozen-before" });
  expect(before.status).toBe(201);
  const pair = (await before.json()) as Pair;

  pg.freeze();
  // statement_timeout is 5 s; the call deadline a little more. Without one these never answer.
  const [created, validated] = await Promise.all([
    statusWithin(api.create({ user_id: "frozen-during" }), 15_000),
    statusWithin(api.validate(pair.refresh_token), 15_000),
  ]);
  expect({ created, validated }).toEqual({ created: 503, validated: 503 });
  pg.thaw();

  const after = await api.create({ user_id: "frozen-after" });
  expect(after.status).toBe(201);
  expect((await api.validate(pair.refresh_token)).status).toBe(200);

  // The create that answered 503 left nothing behind: its transaction was rolled back, not committed late.
  const sql = new SQL({ url: pg.url, max: 1 });
  try {
    const rows = await sql`select user_id from sessions order by user_id`;
    expect(rows.map((row: { user_id: string }) => row.user_id)).toEqual(["frozen-after", "frozen-before"]);
    const events = await sql`select count(*)::int as n from outbox`;
    expect(events[0].n).toBe(2);
  } finally {
    await sql.close();
  }
  expect(await server.stop()).toBe(0);
}, 60_000);
