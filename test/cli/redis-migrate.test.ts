/** `sessionctl migrate` on Redis converts a store of data layout 1 (0.1) to layout 2, once. */
import { afterAll, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { TempDirs } from "../support/core";
import { flushTestRedis, REDIS_TEST_URL } from "../support/redis";
import { sessionctl } from "./support";

const dirs = new TempDirs();
const url = `${REDIS_TEST_URL}?prefix=cli-migrate:`;
afterAll(async () => {
  await flushTestRedis();
  dirs.removeAll();
});

test("a layout-1 store is converted and said so; a second run finds nothing to do", async () => {
  await flushTestRedis();
  const redis = new RedisClient(REDIS_TEST_URL);
  try {
    await redis.set("cli-migrate:layout", "1");
    await redis.set("cli-migrate:t:some-old-token-hash", "session");
    const dir = dirs.make();
    const first = await sessionctl(dir, ["migrate"], { DATABASE_URL: url, SECRET_KEY: "" });
    expect(first).toMatchObject({ code: 0, stdout: "Applied 1 migration; the schema is up to date.\n" });
    expect(await redis.get("cli-migrate:layout")).toBe("2");
    expect(await redis.exists("cli-migrate:t:some-old-token-hash")).toBe(false);
    const second = await sessionctl(dir, ["migrate"], { DATABASE_URL: url, SECRET_KEY: "" });
    expect(second.stdout).toBe("No pending migrations; the schema is up to date.\n");
  } finally {
    redis.close();
  }
});
