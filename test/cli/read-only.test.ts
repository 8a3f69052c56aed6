/**
 * Commands that only read write nothing (CONTRACT v2 §6; issue 12, finding 6): no file — not the
 * database, not ./data/secret.key — no signing key, no row. And only the server bootstraps: a
 * writing command never makes the first signing key nor a secret of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TempDirs } from "../support/core";
import { countRows, sessionctl, startedByServer } from "./support";

const dirs = new TempDirs("sessionctl-readonly-");
afterAll(() => dirs.removeAll());

const READ_ONLY: string[][] = [
  ["list"],
  ["list", "--json"],
  ["show", "0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e"],
  ["stats"],
  ["keys", "list"],
  ["clients", "list"],
];

/**
 * Every file of the folder with its size, mode, modification time and content hash — but SQLite's
 * companions of a WAL database that hold no data: the WAL index (-shm, shared memory for locks and
 * read marks, which every reader updates) and an empty -wal, which a reader of a WAL database opens
 * (creating it when the server is not running). A -wal with content counts.
 */
function fingerprint(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => !name.endsWith("-shm") && !(name.endsWith("-wal") && statSync(join(dir, name)).size === 0))
      .map((name) => {
        const path = join(dir, name);
        const stat = statSync(path);
        const hash = createHash("sha256").update(readFileSync(path)).digest("hex");
        return [name, `${stat.size} ${stat.mode.toString(8)} ${stat.mtimeMs} ${hash}`];
      }),
  );
}

describe("on a folder where no server ever ran", () => {
  test.each(READ_ONLY)("%s … exits 1 with one line and creates no file", async (...args) => {
    const dir = dirs.make();
    // No SECRET_KEY: the old CLI generated ./data/secret.key and a database with a signing key here.
    const result = await sessionctl(dir, args, { SECRET_KEY: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sessionctl: there is no store at \S+ yet[^\n]*\n$/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a writing command refuses without the servers' secret and makes no secret.key", async () => {
    const dir = dirs.make();
    const result = await sessionctl(dir, ["revoke", "--user", "alice"], { SECRET_KEY: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sessionctl: SECRET_KEY is not set[^\n]*\n$/);
    expect(existsSync(join(dir, "secret.key"))).toBe(false);
  });

  test("on a PostgreSQL or Redis store SECRET_KEY is required: a secret.key in the operator's folder is not the servers'", async () => {
    const dir = dirs.make();
    for (const url of ["postgres://127.0.0.1:1/none", "redis://127.0.0.1:1/0"]) {
      const result = await sessionctl(dir, ["revoke", "--user", "alice"], { SECRET_KEY: "", DATABASE_URL: url });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("SECRET_KEY must be set");
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("on a store the server made", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await startedByServer(dirs.make());
  });

  test.each(READ_ONLY)("%s … changes no file of the folder", async (...args) => {
    const before = fingerprint(dir);
    const result = await sessionctl(dir, args);
    expect(result.code === 0 || result.code === 3).toBe(true);
    expect(fingerprint(dir)).toEqual(before);
  });

  test("a writing command does not make a signing key, even where there is none", async () => {
    const empty = dirs.make();
    expect((await sessionctl(empty, ["migrate"])).code).toBe(0);
    const result = await sessionctl(empty, ["revoke", "--user", "alice"]);
    expect(result.code).toBe(0);
    expect(countRows(empty, "signing_keys")).toBe(0);
  });
});
