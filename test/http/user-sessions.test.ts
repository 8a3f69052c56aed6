/** DELETE /session/{id}, DELETE /session/all and GET /session/me for a signed-in user. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { bearer, openTestApp } from "../support/core";
import { expectError, json, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
});
afterAll(() => t.close());

describe("DELETE /session/{id}", () => {
  let before: string;
  let alice: Awaited<ReturnType<typeof openSession>>;
  let bob: Awaited<ReturnType<typeof openSession>>;
  beforeEach(async () => {
    alice = await openSession(t, { user_id: "alice" });
    bob = await openSession(t, { user_id: "bob" });
    before = await snapshot(t.core);
  });

  test("another user's session and an unknown id get identical 404s and nothing changes", async () => {
    const foreign = await t.call("DELETE", `/session/${bob.session_id}`, { headers: bearer(alice.access_token) });
    const unknown = await t.call("DELETE", "/session/019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11", {
      headers: bearer(alice.access_token),
    });
    const foreignText = await expectError(foreign, 404, "not_found", [bob.session_id, "bob"]);
    const unknownText = await expectError(unknown, 404, "not_found", ["019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11"]);
    expect(foreignText).toBe(unknownText);
    expect([...foreign.headers.entries()].sort()).toEqual([...unknown.headers.entries()].sort());
    expect(await snapshot(t.core)).toBe(before);
  });

  const malformed = [
    ["ALL", "/session/ALL"],
    ["all with a space", "/session/all%20"],
    ["all.json", "/session/all.json"],
    ["uppercase UUID", () => `/session/${bob.session_id.toUpperCase()}`],
    ["own id uppercase", () => `/session/${alice.session_id.toUpperCase()}`],
    ["UUID in braces", () => `/session/%7B${alice.session_id}%7D`],
    ["UUID with a suffix", () => `/session/${alice.session_id}x`],
    ["not a UUID", "/session/12345"],
    ["SQL", "/session/1'%20OR%20'1'='1"],
    ["percent-encoded all", "/session/%61ll%00"],
    ["dot-dot", "/session/.."],
  ] as const;
  test.each(malformed)("%s: 404 not_found, nothing revoked", async (_, path) => {
    const url = typeof path === "function" ? path() : path;
    const res = await t.call("DELETE", url, { headers: bearer(alice.access_token) });
    await expectError(res, 404, "not_found", [alice.access_token]);
    expect(await snapshot(t.core)).toBe(before);
  });

  test("own session: 204, revoked with reason logout; again 204 with no second event", async () => {
    const other = await openSession(t, { user_id: "alice" });
    const res = await t.call("DELETE", `/session/${other.session_id}`, { headers: bearer(alice.access_token) });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await t.core.store.sessions.findSession(other.session_id))!.revokeReason).toBe("logout");
    const events = (await t.core.store.outbox.pendingEvents(10_000)).length;
    const again = await t.call("DELETE", `/session/${other.session_id}`, { headers: bearer(alice.access_token) });
    expect(again.status).toBe(204);
    expect((await t.core.store.outbox.pendingEvents(10_000)).length).toBe(events);
    expect((await t.core.store.sessions.findSession(alice.session_id))!.revokedAt).toBeNull();
  });

  test("the current session itself: 204, and its access token stops working", async () => {
    const res = await t.call("DELETE", `/session/${alice.session_id}`, { headers: bearer(alice.access_token) });
    expect(res.status).toBe(204);
    const me = await t.call("GET", "/session/me", { headers: bearer(alice.access_token) });
    await expectError(me, 401, "invalid_token");
  });
});

describe("DELETE /session/all", () => {
  test("a trailing slash is the same endpoint (Elysia's loose paths), never a session id", async () => {
    const z1 = await openSession(t, { user_id: "zoe" });
    const other = await openSession(t, { user_id: "yan" });
    const res = await t.call("DELETE", "/session/all/", { headers: bearer(z1.access_token) });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ revoked: 1 });
    expect((await t.core.store.sessions.findSession(other.session_id))!.revokedAt).toBeNull();
  });

  test("all of the caller's sessions (logout_all), whatever the body says about other users", async () => {
    const a1 = await openSession(t, { user_id: "carol" });
    const a2 = await openSession(t, { user_id: "carol" });
    const other = await openSession(t, { user_id: "dan" });
    const res = await t.call("DELETE", `/session/all?user_id=dan&session_id=${other.session_id}`, {
      headers: bearer(a1.access_token),
      body: { user_id: "dan", session_id: other.session_id },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ revoked: 2 });
    for (const s of [a1, a2])
      expect((await t.core.store.sessions.findSession(s.session_id))!.revokeReason).toBe("logout_all");
    expect((await t.core.store.sessions.findSession(other.session_id))!.revokedAt).toBeNull();
  });

  test("keep_current=true keeps the caller's own session (logout_others)", async () => {
    const e1 = await openSession(t, { user_id: "erin" });
    const e2 = await openSession(t, { user_id: "erin" });
    const res = await t.call("DELETE", "/session/all?keep_current=true", { headers: bearer(e1.access_token) });
    expect(await json(res)).toEqual({ revoked: 1 });
    expect((await t.core.store.sessions.findSession(e1.session_id))!.revokedAt).toBeNull();
    expect((await t.core.store.sessions.findSession(e2.session_id))!.revokeReason).toBe("logout_others");
    const again = await t.call("DELETE", "/session/all?keep_current=true", { headers: bearer(e1.access_token) });
    expect(await json(again)).toEqual({ revoked: 0 });
  });

  test("keep_current with anything but true revokes all", async () => {
    const f1 = await openSession(t, { user_id: "frank" });
    const res = await t.call("DELETE", "/session/all?keep_current=yes", { headers: bearer(f1.access_token) });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ revoked: 1 });
  });
});

describe("GET /session/me", () => {
  test("active sessions only, most recently used first, current marked, no token or hash", async () => {
    const g1 = await openSession(t, { user_id: "gina", user_agent: "one", ip: "192.0.2.1" });
    t.clock.advance(1000);
    const g2 = await openSession(t, { user_id: "gina", user_agent: "two" });
    t.clock.advance(1000);
    const g3 = await openSession(t, { user_id: "gina" });
    await t.call("POST", "/session/revoke", { body: { refresh_token: g3.refresh_token } });
    t.clock.advance(1000);
    await t.call("POST", "/session/refresh", { body: { refresh_token: g1.refresh_token } });
    await openSession(t, { user_id: "someone-else" });
    const res = await t.call("GET", "/session/me", { headers: bearer(g2.access_token) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    const { sessions } = JSON.parse(text);
    expect(sessions.map((s: { session_id: string }) => s.session_id)).toEqual([g1.session_id, g2.session_id]);
    expect(sessions.map((s: { current: boolean }) => s.current)).toEqual([false, true]);
    expect(Object.keys(sessions[0]).sort()).toEqual([
      "created_at",
      "current",
      "device",
      "expires_at",
      "ip",
      "last_used_at",
      "name",
      "session_id",
      "user_agent",
    ]);
    expect(sessions[0]).toMatchObject({ user_agent: "one", ip: "192.0.2.1" });
    expect(sessions[1]).toMatchObject({ user_agent: "two", ip: null });
    const row = await t.core.store.sessions.findSession(g1.session_id);
    for (const secret of [
      g1.refresh_token,
      g2.refresh_token,
      g2.access_token,
      row!.refreshTokenHash,
      row!.previousTokenHash!,
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  test("device: what the stored user agent says, null without one, following a refresh's new user agent", async () => {
    const iphone =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const chromeMac =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    const phone = await openSession(t, { user_id: "dora", user_agent: iphone });
    t.clock.advance(1000);
    const laptop = await openSession(t, { user_id: "dora", user_agent: "curl/8.5.0" });
    t.clock.advance(1000);
    const bare = await openSession(t, { user_id: "dora" });
    const devices = async () => {
      const res = await t.call("GET", "/session/me", { headers: bearer(bare.access_token) });
      expect(res.status).toBe(200);
      const { sessions } = await json(res);
      return Object.fromEntries(sessions.map((s: { session_id: string; device: unknown }) => [s.session_id, s.device]));
    };
    expect(await devices()).toEqual({
      [phone.session_id]: { browser: "Safari", browser_version: "17.5", os: "iOS", os_version: "17.5", type: "mobile" },
      [laptop.session_id]: { browser: null, browser_version: null, os: null, os_version: null, type: "other" },
      [bare.session_id]: null,
    });
    t.clock.advance(1000);
    const refreshed = await t.call("POST", "/session/refresh", {
      body: { refresh_token: laptop.refresh_token, user_agent: chromeMac },
    });
    expect(refreshed.status).toBe(200);
    expect((await devices())[laptop.session_id]).toEqual({
      browser: "Chrome",
      browser_version: "126.0.0.0",
      os: "macOS",
      os_version: "10.15.7",
      type: "desktop",
    });
  });

  test("reading does not move last_used_at", async () => {
    const h = await openSession(t, { user_id: "hank" });
    t.clock.advance(5000);
    const before = await snapshot(t.core);
    await t.call("GET", "/session/me", { headers: bearer(h.access_token) });
    expect(await snapshot(t.core)).toBe(before);
  });
});
