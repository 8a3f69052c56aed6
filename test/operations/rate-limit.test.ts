/**
 * RATE_LIMIT through the app: only failed credentials count, per source (the socket peer, or the
 * hop a trusted proxy names), and a source over the limit is refused before its credential is
 * checked — a right guess past the limit is never served. Bodies and untrusted headers never
 * choose the source.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { openTestApp, serviceAuth } from "../support/core";

type TestApp = Awaited<ReturnType<typeof openTestApp>>;
let t: TestApp;
afterEach(async () => t?.close());

async function openSession(app: TestApp) {
  const response = await app.call("POST", "/session", { body: { user_id: "rl-user" }, headers: serviceAuth });
  return (await response.json()) as { refresh_token: string; session_id: string };
}

const refresh = (refresh_token: string, remote: string, headers: Record<string, string> = {}, ip?: string) =>
  t.call("POST", "/session/refresh", { body: { refresh_token, ip }, headers, remote });

async function expectLimited(response: Response, maxWait: number) {
  expect(response.status).toBe(429);
  expect(await response.json()).toEqual({ error: "rate_limited", message: expect.any(String) });
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(Number(response.headers.get("retry-after"))).toBeLessThanOrEqual(maxWait);
}

describe("RATE_LIMIT", () => {
  test("failures beyond the limit from one address get 429 with Retry-After; other addresses are untouched", async () => {
    t = await openTestApp({ RATE_LIMIT: "3/1m" });
    for (let i = 0; i < 3; i++) expect((await refresh("guess", "198.51.100.9")).status).toBe(401);
    await expectLimited(await refresh("guess", "198.51.100.9"), 60);
    expect((await refresh("guess", "198.51.100.10")).status).toBe(401);
  });

  test("over the limit, even the right refresh token is refused before it is checked: nothing rotates", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    const { refresh_token } = await openSession(t);
    for (let i = 0; i < 2; i++) expect((await refresh(`guess-${i}`, "203.0.113.5")).status).toBe(401);
    await expectLimited(await refresh(refresh_token, "203.0.113.5"), 60);
    // The token was never looked at: it is still the current one, unrotated.
    const check = await t.call("POST", "/session/validate", { body: { refresh_token }, headers: serviceAuth });
    expect(((await check.json()) as { active: boolean }).active).toBe(true);
    const [row] = await t.core.store.admin.listSessions({ status: "all", limit: 10 }, t.clock.now());
    expect(row.rotationCount).toBe(0);
    // From another address the same token works.
    expect((await refresh(refresh_token, "203.0.113.6")).status).toBe(200);
  });

  test("the body's ip and an X-Forwarded-For without TRUSTED_PROXIES never pick the source", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const spoof = `192.0.2.${i + 1}`;
      statuses.push((await refresh("guess", "198.51.100.20", { "x-forwarded-for": spoof }, spoof)).status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  test("wrong service keys count per address, and the right key is refused too while over the limit", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    const wrong = { authorization: "Bearer wrong-key-0123456789" };
    const create = (headers: Record<string, string>, remote: string) =>
      t.call("POST", "/session", { body: { user_id: "x" }, headers, remote });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await create(wrong, "192.0.2.44")).status);
    expect(statuses).toEqual([401, 401, 429]);
    await expectLimited(await create(serviceAuth, "192.0.2.44"), 60);
    await expectLimited(
      await t.call("POST", "/session/validate", {
        body: { refresh_token: "x" },
        headers: serviceAuth,
        remote: "192.0.2.44",
      }),
      60,
    );
    expect(await t.core.store.admin.stats(t.clock.now())).toMatchObject({ sessions: { active: 0 } });
    expect((await create(serviceAuth, "192.0.2.45")).status).toBe(201);
  });

  test("only failures count: successes never bring a source nearer the limit", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    for (let i = 0; i < 10; i++) {
      const created = await t.call("POST", "/session", {
        body: { user_id: "ok" },
        headers: serviceAuth,
        remote: "192.0.2.50",
      });
      expect(created.status).toBe(201);
    }
    expect((await refresh("guess", "192.0.2.50")).status).toBe(401);
  });

  test("logout with a refresh token is never refused, even from a source over the limit", async () => {
    t = await openTestApp({ RATE_LIMIT: "1/1m" });
    const { refresh_token } = await openSession(t);
    expect((await refresh("guess", "192.0.2.60")).status).toBe(401);
    await expectLimited(await refresh(refresh_token, "192.0.2.60"), 60);
    const revoked = await t.call("POST", "/session/revoke", { body: { refresh_token }, remote: "192.0.2.60" });
    expect(revoked.status).toBe(200);
    const [row] = await t.core.store.admin.listSessions({ status: "all", limit: 10 }, t.clock.now());
    expect(row.revokeReason).toBe("logout");
  });

  test("IPv6 addresses count per /64", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    expect((await refresh("guess", "2001:db8:1:2::1")).status).toBe(401);
    expect((await refresh("guess", "2001:db8:1:2:aaaa:bbbb:cccc:dddd")).status).toBe(401);
    await expectLimited(await refresh("guess", "2001:db8:1:2::ffff"), 60);
    expect((await refresh("guess", "2001:db8:1:3::1")).status).toBe(401);
  });

  test("behind TRUSTED_PROXIES the right-most untrusted X-Forwarded-For hop is the source", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m", TRUSTED_PROXIES: "10.0.0.0/8" });
    const via = (chain: string) => refresh("guess", "10.0.0.5", { "x-forwarded-for": chain });
    // The client wrote its own left-most entries; the proxies appended 203.0.113.9 and then 10.1.1.1.
    expect((await via("1.1.1.1, 203.0.113.9, 10.1.1.1")).status).toBe(401);
    expect((await via("2.2.2.2, 203.0.113.9, 10.1.1.1")).status).toBe(401);
    await expectLimited(await via("3.3.3.3, 203.0.113.9"), 60);
    // Another client behind the same proxy is not affected, and neither is the proxy itself.
    expect((await via("203.0.113.10")).status).toBe(401);
    // A peer that is not a trusted proxy is its own source, whatever it forwards.
    expect((await refresh("guess", "198.51.100.77", { "x-forwarded-for": "203.0.113.9" })).status).toBe(401);
  });

  test("off by default: failures keep their 401", async () => {
    t = await openTestApp();
    for (let i = 0; i < 30; i++) expect((await refresh("guess", "198.51.100.9")).status).toBe(401);
  });
});
