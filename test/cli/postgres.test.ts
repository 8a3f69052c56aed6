/**
 * sessionctl on PostgreSQL (DATABASE_URL=postgres://…), beside a running server on the same
 * database: the commands are the same code on another store adapter, so this proves the wiring,
 * migrate's count, and that a CLI revoke reaches the server and the outbox there too.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { SERVICE_KEY, tempDir } from "../support/core";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { postJson, type RunningServer, startServer } from "../support/server";
import { sessionctl } from "./support";

let dir: string;
let database: TestDatabase;
let server: RunningServer | undefined;
const pg = () => ({ DATABASE_URL: database.url });
const run = (args: string[]) => sessionctl(dir, args, pg());
const runJson = async (args: string[]) => {
  const result = await run([...args, "--json"]);
  if (result.code !== 0) throw new Error(`sessionctl ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout);
};

beforeAll(async () => {
  dir = tempDir("sessionctl-pg-");
  database = await createTestDatabase();
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test("migrate applies the schema to an empty database, then finds nothing to do", async () => {
  const first = await run(["migrate"]);
  expect(first).toMatchObject({ code: 0, stderr: "" });
  expect(first.stdout).toMatch(/^Applied \d+ migrations?; the schema is up to date\.\n$/);
  expect(await run(["migrate"])).toMatchObject({
    code: 0,
    stdout: "No pending migrations; the schema is up to date.\n",
  });
});

test("revoke, list, stats, clients and keys work on PostgreSQL while the server runs on it", async () => {
  server = await startServer(dir, pg());
  const created = await postJson(
    `${server.url}/session`,
    { user_id: "pg-alice" },
    { authorization: `Bearer ${SERVICE_KEY}` },
  );
  const pair = (await created.json()) as { session_id: string; access_token: string };
  const me = () => fetch(`${server!.url}/session/me`, { headers: { authorization: `Bearer ${pair.access_token}` } });
  expect((await me()).status).toBe(200);

  expect((await runJson(["list", "--user", "pg-alice"]))[0]).toMatchObject({
    session_id: pair.session_id,
    status: "active",
  });
  expect((await run(["revoke", pair.session_id])).code).toBe(0);
  expect((await me()).status).toBe(401);
  const sql = database.connect();
  try {
    const rows = await sql`select payload from outbox where subject = 'session.revoked'`;
    expect(rows.map((r: { payload: string }) => JSON.parse(r.payload).data)).toEqual([
      expect.objectContaining({ session_id: pair.session_id, user_id: "pg-alice", reason: "admin" }),
    ]);
  } finally {
    await sql.close();
  }

  const stats = await runJson(["stats"]);
  expect(stats.sessions).toEqual({ active: 0, revoked: 1, expired: 0 });
  expect(stats.events.pending).toBe(2);

  const client = await runJson(["clients", "add", "pg-gateway"]);
  const accepted = await postJson(
    `${server.url}/session`,
    { user_id: "pg-bob" },
    { authorization: `Bearer ${client.service_key}` },
  );
  expect(accepted.status).toBe(201);
  expect((await run(["clients", "remove", "pg-gateway"])).code).toBe(0);
  expect((await run(["clients", "remove", "pg-gateway"])).code).toBe(3);

  expect((await run(["keys", "rotate"])).code).toBe(0);
  expect((await runJson(["keys", "list"])).map((k: { status: string }) => k.status).sort()).toEqual([
    "pending",
    "signing",
  ]);

  const dry = await run(["purge", "--older-than", "0s", "--dry-run"]);
  expect(dry.stdout).toContain("would delete 1 ended session and 0 relayed events");
  expect((await run(["purge", "--older-than", "0s"])).stdout).toContain("Deleted 1 ended session");
}, 30_000);
