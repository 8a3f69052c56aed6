/**
 * The real server in hybrid mode (DATABASE_URL=sqlite:…, REDIS_URL): a revoked session is never
 * accepted right after the logout answered, whether Redis is healthy, flushed, slow (SIGSTOP),
 * restarted, or killed at the moment of revocation; with Redis down the service keeps answering
 * from SQL. Each case first proves the cache holds the session (its keys exist in Redis), so a
 * stale entry would be served if invalidation were wrong.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { sessionctl } from "../cli/support";
import { tempDir } from "../support/core";
import { startRedisServer, type TestRedisServer } from "../support/redis";
import { client, type Pair, type RunningServer, ServerPool } from "../support/server";
import { cacheKeys, flushHybridRedis, HYBRID_REDIS_URL, redisCommand } from "./support";

setDefaultTimeout(60_000);

const TTL_MS = 2000;
const pool = new ServerPool();
const dirs: string[] = [];
let own: TestRedisServer;

beforeAll(async () => {
  await flushHybridRedis();
  own = await startRedisServer();
});
afterAll(async () => {
  await pool.killAll();
  await own?.close();
  await flushHybridRedis();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let lastDir = "";
async function hybridServer(redisUrl: string): Promise<RunningServer> {
  const dir = tempDir("session-hybrid-e2e-");
  dirs.push(dir);
  lastDir = dir;
  return pool.start(dir, { REDIS_URL: redisUrl, REDIS_CACHE_TTL: `${TTL_MS}ms`, LOG_LEVEL: "warn" });
}

type Api = ReturnType<typeof client>;

async function open(api: Api, user: string): Promise<Pair> {
  const res = await api.create({ user_id: user });
  expect(res.status).toBe(201);
  return (await res.json()) as Pair;
}

/**
 * Validate and an authenticated request until the session's entry is in Redis: both read it (one
 * entry per session). (/session/me reads the user's session list from SQL, which is itself its check.)
 */
async function warm(api: Api, pair: Pair, redisUrl: string): Promise<void> {
  // Fills run after the answer (and not while the circuit breaker is open): retry for a while.
  const deadline = Date.now() + 3000;
  let keys: string[] = [];
  while (Date.now() < deadline) {
    expect(await (await api.validate(pair.refresh_token)).json()).toMatchObject({
      active: true,
      session_id: pair.session_id,
    });
    expect((await api.authOnly(pair.access_token)).status).toBe(404);
    await Bun.sleep(10);
    keys = await cacheKeys(redisUrl);
    if (keys.includes(`session-cache:sid:${pair.session_id}`)) return;
    await Bun.sleep(50);
  }
  throw new Error(`the cache was not filled: ${keys.join(", ")}`);
}

async function expectRejected(api: Api, pair: Pair): Promise<void> {
  expect(await (await api.validate(pair.refresh_token)).json()).toEqual({ active: false });
  expect((await api.authOnly(pair.access_token)).status).toBe(401);
  expect((await api.me(pair.access_token)).status).toBe(401);
  expect((await api.refresh(pair.refresh_token)).status).toBe(401);
}

const timed = async <T>(body: () => Promise<T>): Promise<[T, number]> => {
  const start = performance.now();
  const result = await body();
  return [result, performance.now() - start];
};

describe(`hybrid server on ${HYBRID_REDIS_URL}`, () => {
  let server: RunningServer;
  let api: Api;
  let dir: string;
  beforeAll(async () => {
    server = await hybridServer(HYBRID_REDIS_URL);
    dir = lastDir;
    api = client(server.url);
  });

  test("sessionctl revoke with the same REDIS_URL is seen by the server at once", async () => {
    const a = await open(api, "cli-alice");
    await warm(api, a, HYBRID_REDIS_URL);
    const result = await sessionctl(dir, ["revoke", a.session_id], { REDIS_URL: HYBRID_REDIS_URL });
    expect(result.code).toBe(0);
    await expectRejected(api, a);
  });

  test("healthy Redis: logout by refresh token, by session id, and everywhere are seen at once", async () => {
    const a = await open(api, "h-alice");
    await warm(api, a, HYBRID_REDIS_URL);
    const [res, ms] = await timed(() => api.revoke(a.refresh_token));
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(TTL_MS); // the invalidation worked: no waiting
    await expectRejected(api, a);

    const b = await open(api, "h-bob");
    await warm(api, b, HYBRID_REDIS_URL);
    expect((await api.logout(b.access_token, b.session_id)).status).toBe(204);
    await expectRejected(api, b);

    const c1 = await open(api, "h-carol");
    const c2 = await open(api, "h-carol");
    await warm(api, c1, HYBRID_REDIS_URL);
    await warm(api, c2, HYBRID_REDIS_URL);
    expect(await (await api.logoutAll(c1.access_token)).json()).toEqual({ revoked: 2 });
    await expectRejected(api, c1);
    await expectRejected(api, c2);
  });

  test("a rotated-away token is inactive at once; the new one is active", async () => {
    const a = await open(api, "h-dave");
    await warm(api, a, HYBRID_REDIS_URL);
    const next = (await (await api.refresh(a.refresh_token)).json()) as Pair;
    expect(await (await api.validate(a.refresh_token)).json()).toEqual({ active: false });
    expect(await (await api.validate(next.refresh_token)).json()).toMatchObject({ active: true });
    expect((await api.me(next.access_token)).status).toBe(200);
  });

  test("FLUSHDB of the cache database right before and right after a logout", async () => {
    const a = await open(api, "f-alice");
    await warm(api, a, HYBRID_REDIS_URL);
    await redisCommand(HYBRID_REDIS_URL, "FLUSHDB");
    expect((await api.logout(a.access_token, a.session_id)).status).toBe(204);
    await expectRejected(api, a);
    // Flushed after the logout too: misses go to SQL.
    const b = await open(api, "f-bob");
    await warm(api, b, HYBRID_REDIS_URL);
    expect((await api.revoke(b.refresh_token)).status).toBe(200);
    await redisCommand(HYBRID_REDIS_URL, "FLUSHDB");
    await expectRejected(api, b);
  });
});

describe("hybrid server on a redis-server of its own", () => {
  let server: RunningServer;
  let api: Api;
  let url: string;
  beforeAll(async () => {
    url = own.url(0);
    server = await hybridServer(url);
    api = client(server.url);
  });

  test("slow Redis (SIGSTOP) during the logout: the logout waits T, the stale entry is never served after SIGCONT", async () => {
    const a = await open(api, "s-alice");
    await warm(api, a, url);
    own.pause();
    let ms: number;
    try {
      let res: Response;
      [res, ms] = await timed(() => api.logout(a.access_token, a.session_id));
      expect(res.status).toBe(204);
    } finally {
      own.resume();
    }
    await expectRejected(api, a);
    expect(ms).toBeGreaterThanOrEqual(TTL_MS);
    // Also once this instance's circuit breaker has closed and it reads Redis again.
    await Bun.sleep(1100);
    await expectRejected(api, a);
  });

  test("slow Redis during a logout by refresh token, resumed right after", async () => {
    const a = await open(api, "s-bob");
    await warm(api, a, url);
    own.pause();
    try {
      expect((await api.revoke(a.refresh_token)).status).toBe(200);
    } finally {
      own.resume();
    }
    await expectRejected(api, a);
  });

  test("FLUSHALL right before the logout", async () => {
    const a = await open(api, "f2-alice");
    await warm(api, a, url);
    await redisCommand(url, "FLUSHALL");
    expect((await api.revoke(a.refresh_token)).status).toBe(200);
    await expectRejected(api, a);
  });

  test("Redis restarted right before the logout", async () => {
    const a = await open(api, "r-alice");
    await warm(api, a, url);
    await own.kill();
    await own.restart();
    expect((await api.logout(a.access_token, a.session_id)).status).toBe(204);
    await expectRejected(api, a);
  });

  test("Redis killed at the moment of revocation, then restarted; meanwhile the service answers from SQL", async () => {
    const a = await open(api, "k-alice");
    const other = await open(api, "k-bob");
    await warm(api, a, url);
    await own.kill();
    try {
      const [res, ms] = await timed(() => api.revoke(a.refresh_token));
      expect(res.status).toBe(200);
      expect(ms).toBeGreaterThanOrEqual(TTL_MS);
      await expectRejected(api, a);

      // Redis down: create, validate, refresh, access-token requests keep working from SQL.
      const c = await open(api, "k-carol");
      expect(await (await api.validate(c.refresh_token)).json()).toMatchObject({ active: true });
      expect((await api.me(other.access_token)).status).toBe(200);
      const refreshed = await api.refresh(other.refresh_token);
      expect(refreshed.status).toBe(200);
      const next = (await refreshed.json()) as Pair;
      expect(await (await api.validate(next.refresh_token)).json()).toMatchObject({ active: true });
      expect(await (await api.validate(other.refresh_token)).json()).toEqual({ active: false });
      expect((await api.readyz()).status).toBe(200);
    } finally {
      await own.restart();
    }
    await expectRejected(api, a);
    // Back: the cache fills again.
    const d = await open(api, "k-dave");
    await Bun.sleep(1100); // the circuit breaker closes
    await warm(api, d, url);
  });
});

describe("two instances on one SQLite file and one redis-server", () => {
  let redis: TestRedisServer;
  let a: Api;
  let b: Api;
  beforeAll(async () => {
    redis = await startRedisServer();
    const dir = tempDir("session-hybrid-two-");
    dirs.push(dir);
    const env = { REDIS_URL: redis.url(0), REDIS_CACHE_TTL: `${TTL_MS}ms`, LOG_LEVEL: "warn" };
    a = client((await pool.start(dir, env)).url);
    b = client((await pool.start(dir, env)).url);
  });
  afterAll(async () => {
    await redis?.close();
  });

  test("Redis paused while instance A logs out: instance B, whose Redis works again, never serves the stale entry", async () => {
    const pair = await open(a, "two-alice");
    await warm(b, pair, redis.url(0));
    redis.pause();
    let ms: number;
    try {
      let res: Response;
      [res, ms] = await timed(() => a.logout(pair.access_token, pair.session_id));
      expect(res.status).toBe(204);
    } finally {
      redis.resume();
    }
    await expectRejected(b, pair);
    await expectRejected(a, pair);
    expect(ms).toBeGreaterThanOrEqual(TTL_MS);
  });

  test("healthy: a logout on A is seen by B at once", async () => {
    const pair = await open(a, "two-bob");
    await warm(b, pair, redis.url(0));
    expect((await a.revoke(pair.refresh_token)).status).toBe(200);
    await expectRejected(b, pair);
  });
});
