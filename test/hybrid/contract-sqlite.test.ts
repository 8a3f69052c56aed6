/** The store contract, unchanged, on the Redis cache over SQLite with Redis database 14 as the cache. */
import { rmSync } from "node:fs";
import { storeContract } from "../store/contract";
import { tempDir } from "../support/core";
import { flushHybridRedis, sqliteHybrid } from "./support";

const dirs: string[] = [];

storeContract("hybrid (sqlite + redis)", {
  async setup() {
    await flushHybridRedis();
  },
  async open() {
    await flushHybridRedis();
    const dir = tempDir("session-hybrid-");
    dirs.push(dir);
    // A generous command timeout: the contract is about answers, not about Redis failing.
    return sqliteHybrid(dir, { commandTimeoutMs: 2000 });
  },
  async teardown() {
    await flushHybridRedis();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  },
});
