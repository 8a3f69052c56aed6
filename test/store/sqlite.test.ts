/** The store contract on SQLite: a fresh database file per test. */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openSqliteStore } from "../../db/sqlite/store";
import { tempDir } from "../support/core";
import { storeContract } from "./contract";

const dirs: string[] = [];

storeContract("sqlite", {
  async open() {
    const dir = tempDir("session-store-");
    dirs.push(dir);
    return openSqliteStore({ path: join(dir, "sessions.db"), synchronous: "FULL", busyTimeoutMs: 5000 });
  },
  async teardown() {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  },
});
