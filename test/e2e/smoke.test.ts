import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { SERVICE_KEY, tempDir } from "../support/core";
import { postJson, startServer } from "../support/server";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the real server starts, opens a session and stops cleanly on SIGTERM", async () => {
  const server = await startServer(dir);
  const created = await postJson(`${server.url}/session`, { user_id: "smoke" }, { authorization: `Bearer ${SERVICE_KEY}` });
  expect(created.status).toBe(201);
  expect(await server.stop()).toBe(0);
});
