import { afterEach, describe, expect, test } from "bun:test";
import { openTestApp, serviceAuth } from "../support/core";

type TestApp = Awaited<ReturnType<typeof openTestApp>>;
let t: TestApp;
afterEach(async () => t?.close());

async function openSession(app: TestApp) {
  const response = await app.call("POST", "/session", { body: { user_id: "rl-user" }, headers: serviceAuth });
  return (await response.json()) as { refresh_token: string };
}

describe("RATE_LIMIT", () => {
  test("failures beyond the limit from one source get 429 with Retry-After; others are untouched", async () => {
    t = await openTestApp({ RATE_LIMIT: "3/1m" });
    const bad = (ip: string) => t.call("POST", "/session/refresh", { body: { refresh_token: "guess", ip } });
    for (let i = 0; i < 3; i++) expect((await bad("198.51.100.9")).status).toBe(401);
    const limited = await bad("198.51.100.9");
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ error: "rate_limited", message: expect.any(String) });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // Another source is not affected.
    expect((await bad("198.51.100.10")).status).toBe(401);
  });

  test("a valid refresh token is never locked out, even from a limited source", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    const { refresh_token } = await openSession(t);
    for (let i = 0; i < 5; i++) {
      await t.call("POST", "/session/refresh", { body: { refresh_token: `guess-${i}`, ip: "203.0.113.5" } });
    }
    const good = await t.call("POST", "/session/refresh", { body: { refresh_token, ip: "203.0.113.5" } });
    expect(good.status).toBe(200);
  });

  test("wrong service keys count by the forwarded client address; the right key still works", async () => {
    t = await openTestApp({ RATE_LIMIT: "2/1m" });
    const headers = { authorization: "Bearer wrong-key-0123456789", "x-forwarded-for": "192.0.2.44, 10.0.0.1" };
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await t.call("POST", "/session", { body: { user_id: "x" }, headers })).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    const ok = await t.call("POST", "/session", {
      body: { user_id: "x" },
      headers: { ...serviceAuth, "x-forwarded-for": "192.0.2.44" },
    });
    expect(ok.status).toBe(201);
  });

  test("off by default: failures keep their 401", async () => {
    t = await openTestApp();
    for (let i = 0; i < 30; i++) {
      const response = await t.call("POST", "/session/refresh", {
        body: { refresh_token: "guess", ip: "198.51.100.9" },
      });
      expect(response.status).toBe(401);
    }
  });
});
