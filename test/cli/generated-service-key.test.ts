/**
 * The generated ./data/service.key (issue 12, finding 10) is for trying the service out and must
 * not outlive the real setup: it is the store's client `default`, so the first real client added
 * with sessionctl ends it in the running server at once, `sessionctl clients remove default` ends
 * it too, a removed key never comes back, and a server given SERVICE_KEYS does not accept it.
 * Real server processes and the real CLI on one SQLite file.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_KEY, TempDirs } from "../support/core";
import { postJson, type RunningServer, ServerPool } from "../support/server";
import { sessionctl } from "./support";

const pool = new ServerPool();
const dirs = new TempDirs("generated-key-");
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

/** No SERVICE_KEYS: the server generates its key. */
const NO_SERVICE_KEYS = { SERVICE_KEYS: "" };

async function firstRun() {
  const dir = dirs.make();
  const server = await pool.start(dir, NO_SERVICE_KEYS);
  const file = join(dir, "service.key");
  return { dir, server, file, key: readFileSync(file, "utf8").trim() };
}

/** The status of opening a session with `key`. */
const opens = async (server: RunningServer, key: string) =>
  (await postJson(`${server.url}/session`, { user_id: "caller" }, { authorization: `Bearer ${key}` })).status;

const readyLine = (server: RunningServer) =>
  server
    .logs()
    .split("\n")
    .find((l) => l.includes("session-service ready"));

test("the first client added with sessionctl ends the generated key in the running server at once, and after a restart", async () => {
  const { dir, server, file, key } = await firstRun();
  expect(await opens(server, key)).toBe(201);

  const added = await sessionctl(dir, ["clients", "add", "gateway"]);
  expect(added.code).toBe(0);
  const gatewayKey = added.stdout.split("\n")[1];
  // No wait: servers look clients up on every request.
  expect(await opens(server, key)).toBe(401);
  expect(await opens(server, gatewayKey)).toBe(201);
  expect(added.stdout).toContain(
    `The generated service key (client default, ${file}, now deleted) no longer works: give its callers a client of their own.`,
  );
  expect(existsSync(file)).toBe(false);

  await server.stop();
  const again = await pool.start(dir, NO_SERVICE_KEYS);
  expect(await opens(again, key)).toBe(401);
  expect(await opens(again, gatewayKey)).toBe(201);
  // A real client exists: nothing is generated, and the ready line names no key file.
  expect(existsSync(file)).toBe(false);
  expect(readyLine(again)).toContain('"service_key_file":null');
});

test("clients remove default ends the generated key at once; the next start makes a new one, never the old", async () => {
  const { dir, server, file, key } = await firstRun();
  const listed = await sessionctl(dir, ["clients", "list", "--json"]);

  const removed = await sessionctl(dir, ["clients", "remove", "default"]);
  expect(await opens(server, key)).toBe(401);
  expect(removed).toMatchObject({
    code: 0,
    stdout: `Removed client default; its service key no longer works.\nDeleted ${file}.\n`,
  });
  expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((c) => c.name)).toEqual(["default"]);
  expect(existsSync(file)).toBe(false);

  await server.stop();
  const again = await pool.start(dir, NO_SERVICE_KEYS);
  const fresh = readFileSync(file, "utf8").trim();
  expect(fresh).not.toBe(key);
  expect(await opens(again, key)).toBe(401);
  expect(await opens(again, fresh)).toBe(201);
});

test("a server given SERVICE_KEYS refuses the generated key; the name default cannot be taken by hand", async () => {
  const { dir, server, key } = await firstRun();
  await server.stop();
  const configured = await pool.start(dir); // the test support's SERVICE_KEYS
  expect(await opens(configured, key)).toBe(401);
  expect(await opens(configured, SERVICE_KEY)).toBe(201);

  const taken = await sessionctl(dir, ["clients", "add", "default"]);
  expect(taken.code).toBe(1);
  expect(taken.stderr).toBe(
    "sessionctl: the name default belongs to the service key a server generates; choose another\n",
  );
  expect(taken.stdout).toBe("");
});
