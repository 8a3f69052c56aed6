/**
 * A server whose SECRET_KEY cannot decrypt the store's signing keys does not start (CONTRACT v2 §8;
 * issue 12, finding 6): one line on stderr, a non-zero exit, never a ready server answering 500s
 * after it committed a session and its event.
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { TempDirs } from "../support/core";
import { runProcess } from "../support/process";
import { PROJECT_ROOT, ServerPool, serverEnv } from "../support/server";

const pool = new ServerPool();
const dirs = new TempDirs();
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

test("another SECRET_KEY than the store's keys were made with: exit 1 with one line, nothing served", async () => {
  const dir = dirs.make();
  const first = await pool.start(dir);
  expect(await first.stop()).toBe(0);

  const { code, stdout, stderr } = await runProcess(
    ["bun", join(PROJECT_ROOT, "server/main.ts")],
    dir,
    serverEnv(dir, { SECRET_KEY: randomBytes(32).toString("hex"), PORT: "0" }),
  );
  expect(code).toBe(1);
  expect(stderr).toBe(
    "session-service: cannot start: SECRET_KEY does not match the store: its signing keys were made with another SECRET_KEY\n",
  );
  expect(stdout).not.toContain("session-service ready");
});
