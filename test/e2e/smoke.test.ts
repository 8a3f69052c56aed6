import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { client, ServerPool } from "../support/server";

const pool = new ServerPool();
const dir = tempDir();
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

test("the real server starts, opens a session and stops cleanly on SIGTERM", async () => {
  const server = await pool.start(dir);
  const created = await client(server.url).create({ user_id: "smoke" });
  expect(created.status).toBe(201);
  expect(await server.stop()).toBe(0);
}, 30_000);
