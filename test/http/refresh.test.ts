/** POST /session/refresh, /session/validate and /session/revoke over HTTP. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TokenPair } from "../../server/core/sessions";
import { openTestApp, serviceAuth } from "../support/core";
import { expectError, json, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp({ SESSION_IDLE_TIMEOUT: "1h", REFRESH_REUSE_GRACE: "10s" });
});
afterAll(() => t.close());

const refresh = (refresh_token: unknown, extra: Record<string, unknown> = {}) =>
  t.call("POST", "/session/refresh", { body: { refresh_token, ...extra } });
const validate = async (refresh_token: unknown) =>
  json(await t.call("POST", "/session/validate", { body: { refresh_token }, headers: serviceAuth }));

describe("refresh", () => {
  test("200 with a new pair for the same session and Cache-Control: no-store", async () => {
    const first = await openSession(t, { user_id: "r1" });
    t.clock.advance(1000);
    const res = await refresh(first.refresh_token, { user_agent: "new-agent", ip: "2001:DB8::1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const next = (await json(res)) as TokenPair;
    expect(Object.keys(next).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_token",
      "refresh_token_expires_at",
      "session_id",
      "token_type",
      "user_id",
    ]);
    expect(next).toMatchObject({ session_id: first.session_id, user_id: "r1", token_type: "Bearer", expires_in: 900 });
    expect(next.refresh_token).not.toBe(first.refresh_token);
    expect(next.refresh_token_expires_at).toBe(new Date(t.clock.now() + 3_600_000).toISOString());
    const row = await t.core.store.sessions.findSession(first.session_id);
    expect([row!.userAgent, row!.ip, row!.rotationCount]).toEqual(["new-agent", "2001:db8::1", 1]);
  });

  test("a retry inside the grace window returns the same refresh token; 20 parallel requests rotate once", async () => {
    const pair = await openSession(t, { user_id: "r2" });
    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(pair.refresh_token)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bodies = (await Promise.all(answers.map(json))) as TokenPair[];
    expect(new Set(bodies.map((b) => b.refresh_token)).size).toBe(1);
    expect(new Set(bodies.map((b) => b.access_token)).size).toBe(20);
    t.clock.advance(9_000);
    const retry = (await json(await refresh(pair.refresh_token))) as TokenPair;
    expect(retry.refresh_token).toBe(bodies[0].refresh_token);
    expect((await t.core.store.sessions.findSession(pair.session_id))!.rotationCount).toBe(1);
  });

  test("reuse after the window: 401 invalid_grant, and the session stays revoked", async () => {
    const pair = await openSession(t, { user_id: "r3" });
    const other = await openSession(t, { user_id: "r3" });
    const next = (await json(await refresh(pair.refresh_token))) as TokenPair;
    t.clock.advance(10_001);
    await expectError(await refresh(pair.refresh_token), 401, "invalid_grant", [pair.refresh_token]);
    expect((await t.core.store.sessions.findSession(pair.session_id))!.revokeReason).toBe("refresh_token_reuse");
    await expectError(await refresh(next.refresh_token), 401, "invalid_grant", [next.refresh_token]);
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });

  test("empty, garbled and huge token strings get the token answer (401), not 400", async () => {
    const before = await snapshot(t.core);
    for (const token of ["", " ", "garbled-TOKEN-value", "x".repeat(15_000), "\u0000\u0001", "\ud800", "😀"]) {
      await expectError(await refresh(token), 401, "invalid_grant", [token]);
    }
    expect(await snapshot(t.core)).toBe(before);
  });
});

describe("every refresh failure looks the same", () => {
  test("unknown, malformed, expired, revoked and reused: byte-identical bodies, same headers", async () => {
    const expired = await openSession(t, { user_id: "same" });
    t.clock.advance(3_600_000); // the idle timeout
    const revoked = await openSession(t, { user_id: "same" });
    await t.call("POST", "/session/revoke", { body: { refresh_token: revoked.refresh_token } });
    const reused = await openSession(t, { user_id: "same" });
    await refresh(reused.refresh_token);
    t.clock.advance(11_000); // past the grace window, the session itself still active
    expect((await t.core.store.sessions.findSession(reused.session_id))!.revokedAt).toBeNull();
    const cases: Record<string, string> = {
      unknown: "A".repeat(43),
      malformed: "not base64 at all!",
      empty: "",
      expired: expired.refresh_token,
      revoked: revoked.refresh_token,
      reused: reused.refresh_token,
    };
    const answers: Array<{ name: string; status: number; headers: string; body: string }> = [];
    for (const [name, token] of Object.entries(cases)) {
      const res = await refresh(token);
      const headers = JSON.stringify([...res.headers.entries()].sort());
      answers.push({ name, status: res.status, headers, body: await res.text() });
    }
    expect((await t.core.store.sessions.findSession(reused.session_id))!.revokeReason).toBe("refresh_token_reuse");
    for (const answer of answers) {
      expect({ ...answer, name: "" }).toEqual({ ...answers[0], name: "" });
    }
    expect(answers[0].status).toBe(401);
    expect(JSON.parse(answers[0].body).error).toBe("invalid_grant");
    expect(answers[0].headers).toContain("no-store");
  });
});

describe("validate", () => {
  test("active answer, read-only", async () => {
    const pair = await openSession(t, { user_id: "v1" });
    t.clock.advance(5_000);
    const before = await snapshot(t.core);
    const res = await t.call("POST", "/session/validate", {
      body: { refresh_token: pair.refresh_token },
      headers: serviceAuth,
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual([
      "active",
      "created_at",
      "expires_at",
      "last_used_at",
      "session_id",
      "user_id",
    ]);
    expect(body).toMatchObject({
      active: true,
      session_id: pair.session_id,
      user_id: "v1",
      expires_at: pair.refresh_token_expires_at,
    });
    expect(body.last_used_at).toBe(body.created_at);
    expect(await snapshot(t.core)).toBe(before);
  });

  test("inactive answers are exactly {active:false}", async () => {
    const pair = await openSession(t, { user_id: "v2" });
    const next = (await json(await refresh(pair.refresh_token))) as TokenPair;
    for (const token of ["", "garbage", pair.refresh_token]) {
      expect(await validate(token)).toEqual({ active: false });
    }
    expect((await validate(next.refresh_token)).active).toBe(true);
  });
});

describe("revoke", () => {
  test("200 {} for known and unknown tokens alike; the known one is logged out", async () => {
    const pair = await openSession(t, { user_id: "x1" });
    for (const token of ["", "unknown-token-value", pair.refresh_token, pair.refresh_token]) {
      const res = await t.call("POST", "/session/revoke", { body: { refresh_token: token } });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.text()).toBe("{}");
    }
    expect((await t.core.store.sessions.findSession(pair.session_id))!.revokeReason).toBe("logout");
    expect(
      (await t.core.store.outbox.pendingEvents(10_000)).filter((e) => JSON.parse(e.payload).subject === pair.session_id)
        .length,
    ).toBe(2);
  });

  test("an unknown token changes nothing", async () => {
    const before = await snapshot(t.core);
    await t.call("POST", "/session/revoke", { body: { refresh_token: "unknown-token-value" } });
    expect(await snapshot(t.core)).toBe(before);
  });

  test("an older token revokes with refresh_token_reuse", async () => {
    const a = await openSession(t, { user_id: "x2" });
    const b = (await json(await refresh(a.refresh_token))) as TokenPair;
    await refresh(b.refresh_token);
    await t.call("POST", "/session/revoke", { body: { refresh_token: a.refresh_token } });
    expect((await t.core.store.sessions.findSession(a.session_id))!.revokeReason).toBe("refresh_token_reuse");
  });
});
