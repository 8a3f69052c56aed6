/**
 * The ready line tells a newcomer where the service answers, where its docs are and where the
 * generated service key is: the file's path, never the key.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/core";
import { postJson, ServerPool } from "../support/server";

const pool = new ServerPool();
const dirs: string[] = [];
afterAll(async () => {
  await pool.killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const readyLine = (logs: string) =>
  JSON.parse(logs.split("\n").find((line) => line.includes('"session-service ready'))!) as Record<string, unknown>;

test("no SERVICE_KEYS: the ready line names the URL, the docs and the generated key's file", async () => {
  const dir = tempDir("session-first-run-");
  dirs.push(dir);
  const server = await pool.start(dir, { SERVICE_KEYS: "" });
  const ready = readyLine(server.logs());
  const keyFile = join(dir, "service.key");
  expect(ready).toMatchObject({ url: server.url, docs: `${server.url}/docs`, service_key_file: keyFile });
  expect(ready.msg).toBe(
    `session-service ready at ${server.url}, docs at ${server.url}/docs; the generated service key is in ${keyFile}`,
  );
  const key = readFileSync(keyFile, "utf8");
  expect(server.logs()).not.toContain(key);
  // What the line says works: the docs answer, and the key in that file opens a session.
  expect((await fetch(String(ready.docs))).status).toBe(200);
  const created = await postJson(`${ready.url}/session`, { user_id: "newcomer" }, { authorization: `Bearer ${key}` });
  expect(created.status).toBe(201);
});

test("with SERVICE_KEYS: no key file is named", async () => {
  const dir = tempDir("session-first-run-");
  dirs.push(dir);
  const server = await pool.start(dir);
  const ready = readyLine(server.logs());
  expect(ready).toMatchObject({ url: server.url, service_key_file: null });
  expect(ready.msg).toBe(
    `session-service ready at ${server.url}, docs at ${server.url}/docs; service keys from SERVICE_KEYS or sessionctl clients`,
  );
});
