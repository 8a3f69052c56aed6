/**
 * The store contract on Redis, on logical database 15 of 127.0.0.1:6379, flushed before each test
 * and after the suite. Redis-only behaviour (lost connections, TTLs, the real server on Redis) is
 * in redis-faults.test.ts, redis-ttl.test.ts and redis-server.test.ts.
 */
import { openRedisStore } from "../../db/redis/store";
import { flushTestRedis, REDIS_TEST_URL } from "../support/redis";
import { storeContract } from "./contract";

storeContract("redis", {
  async setup() {
    await flushTestRedis();
  },
  async open() {
    await flushTestRedis();
    return openRedisStore({ url: REDIS_TEST_URL });
  },
  revocationEventsWrittenByScript: true,
  async teardown() {
    await flushTestRedis();
  },
});
