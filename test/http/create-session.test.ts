/** POST /session with awkward but acceptable input: stored exactly as the contract says. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { openTestApp, serviceAuth } from "../support/core";
import { expectError, json, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
});
afterAll(() => t.close());

const stored = async (sessionId: string) => (await t.core.store.sessions.findSession(sessionId))!;

test("201 with the contract's body and Cache-Control: no-store", async () => {
  const res = await t.call("POST", "/session", {
    body: { user_id: "alice", claims: { role: "admin" } },
    headers: serviceAuth,
  });
  expect(res.status).toBe(201);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = await json(res);
  expect(Object.keys(body).sort()).toEqual([
    "access_token",
    "expires_in",
    "refresh_token",
    "refresh_token_expires_at",
    "session_id",
    "token_type",
    "user_id",
  ]);
  expect(body).toMatchObject({ user_id: "alice", token_type: "Bearer", expires_in: 900 });
  expect(body.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(body.refresh_token_expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
  const claims = decodeJwt(body.access_token);
  expect(claims).toMatchObject({
    iss: "session-service",
    aud: "api",
    sub: "alice",
    sid: body.session_id,
    role: "admin",
  });
  expect(claims.exp! - claims.iat!).toBe(900);
  expect(typeof claims.jti).toBe("string");
});

describe("SQL-ish and odd strings are data, stored verbatim", () => {
  const values = [
    "' OR '1'='1",
    "alice'; DROP TABLE sessions; --",
    '" OR 1=1 --',
    "%' UNION SELECT refresh_token_hash FROM sessions --",
    "\\x00\\'",
    "Robert'); DELETE FROM outbox; --",
    "🚀 ünïcødé 用户",
  ];
  test.each(values)("user_id %j", async (userId) => {
    const before = await t.core.store.admin.stats(t.clock.now());
    const pair = await openSession(t, { user_id: userId, user_agent: userId });
    expect(pair.user_id).toBe(userId);
    const row = await stored(pair.session_id);
    expect([row.userId, row.userAgent]).toEqual([userId, userId]);
    const after = await t.core.store.admin.stats(t.clock.now());
    expect(after.sessions.active).toBe(before.sessions.active + 1);
    expect(after.events.pending).toBe(before.events.pending + 1);
    // Validate finds it by token, not by anything injected.
    const res = await t.call("POST", "/session/validate", {
      body: { refresh_token: pair.refresh_token },
      headers: serviceAuth,
    });
    expect((await json(res)).user_id).toBe(userId);
  });

  test("a SQL-ish refresh token is just an unknown token", async () => {
    const before = await snapshot(t.core);
    for (const token of ["' OR '1'='1", "x' OR refresh_token_hash LIKE '%", "%", "_"]) {
      const res = await t.call("POST", "/session/refresh", { body: { refresh_token: token } });
      await expectError(res, 401, "invalid_grant", [token]);
      const v = await t.call("POST", "/session/validate", { body: { refresh_token: token }, headers: serviceAuth });
      expect(await json(v)).toEqual({ active: false });
    }
    expect(await snapshot(t.core)).toBe(before);
  });
});

test("user_id of exactly 128 code points (astral) is accepted", async () => {
  const pair = await openSession(t, { user_id: "😀".repeat(128) });
  expect((await stored(pair.session_id)).userId).toBe("😀".repeat(128));
});

describe("user_agent", () => {
  test("control characters are removed", async () => {
    const pair = await openSession(t, {
      user_id: "ua",
      user_agent: "Mozilla/5.0\u0000\r\n\tX-Injected: 1\u007f\u0085\u009b",
    });
    expect((await stored(pair.session_id)).userAgent).toBe("Mozilla/5.0X-Injected: 1");
  });

  test("a 10 KB user agent is stored cut to 512 code points", async () => {
    const pair = await openSession(t, { user_id: "ua", user_agent: "A".repeat(10 * 1024) });
    expect((await stored(pair.session_id)).userAgent).toBe("A".repeat(512));
  });

  test("the cut never splits a surrogate pair", async () => {
    const pair = await openSession(t, { user_id: "ua", user_agent: `x${"😀".repeat(3000)}` });
    const ua = (await stored(pair.session_id)).userAgent!;
    expect([...ua].length).toBe(512);
    expect(ua.isWellFormed()).toBe(true);
    expect(ua).toBe(`x${"😀".repeat(511)}`);
  });

  test("the created event carries the cleaned user agent", async () => {
    const pair = await openSession(t, { user_id: "ua-ev", user_agent: `${"B".repeat(600)}\u0000` });
    const events = await t.core.store.outbox.pendingEvents(10_000);
    const event = events.map((e) => JSON.parse(e.payload)).find((e) => e.subject === pair.session_id);
    expect(event.data.user_agent).toBe("B".repeat(512));
  });
});

describe("ip is stored canonical", () => {
  test.each([
    ["192.0.2.1", "192.0.2.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::FFFF:192.0.2.1", "::ffff:192.0.2.1"],
    ["::ffff:c000:0201", "::ffff:192.0.2.1"],
    ["0:0:0:0:0:0:0:1", "::1"],
  ])("%s -> %s", async (ip, canonical) => {
    const pair = await openSession(t, { user_id: "ip", ip });
    expect((await stored(pair.session_id)).ip).toBe(canonical);
  });
});

test("unknown fields are ignored and never stored", async () => {
  const pair = await openSession(t, {
    user_id: "extra",
    session_id: "00000000-0000-7000-8000-000000000000",
    refresh_token: "chosen-by-the-client",
    revoked_at: 1,
    unknown_marker_field: "UNKNOWN-MARKER",
  });
  expect(pair.session_id).not.toBe("00000000-0000-7000-8000-000000000000");
  expect(pair.refresh_token).not.toBe("chosen-by-the-client");
  const row = await stored(pair.session_id);
  expect(row.revokedAt).toBeNull();
  expect(JSON.stringify(row)).not.toContain("UNKNOWN-MARKER");
  expect(JSON.stringify(await t.core.store.outbox.pendingEvents(10_000))).not.toContain("UNKNOWN-MARKER");
});

test("a deleted user gets 409 user_deleted and no session", async () => {
  await t.core.sessions.deleteUser("gone-user");
  const before = await snapshot(t.core);
  const res = await t.call("POST", "/session", { body: { user_id: "gone-user" }, headers: serviceAuth });
  await expectError(res, 409, "user_deleted", ["gone-user"]);
  expect(await snapshot(t.core)).toBe(before);
});
