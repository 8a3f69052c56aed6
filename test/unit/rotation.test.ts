/** Rotation, grace window and reuse detection of the core, on a real SQLite file with a fake clock. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ServiceError } from "../../server/core/errors";
import { openTestCore, type TestCore } from "../support/core";

let t: TestCore;
beforeEach(async () => {
  t = await openTestCore({ REFRESH_REUSE_GRACE: "10s" });
});
afterEach(() => t.close());

const invalidGrant = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e) => e,
  );
  expect(error).toBeInstanceOf(ServiceError);
  expect((error as ServiceError).code).toBe("invalid_grant");
};

describe("rotation", () => {
  test("returns a new refresh token for the same session and the old one stops being current", async () => {
    const first = await t.core.sessions.create({ userId: "alice" });
    t.clock.advance(1000);
    const second = await t.core.sessions.refresh({ refreshToken: first.refresh_token });
    expect(second.session_id).toBe(first.session_id);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await t.core.sessions.validate(first.refresh_token)).active).toBe(false);
    expect((await t.core.sessions.validate(second.refresh_token)).active).toBe(true);
    const row = await t.core.store.sessions.findSession(first.session_id);
    expect(row!.rotationCount).toBe(1);
    expect(row!.lastUsedAt).toBe(t.clock.now());
  });

  test("the new token rotates again, each step a new token", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    t.clock.advance(1000);
    const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    t.clock.advance(1000);
    const c = await t.core.sessions.refresh({ refreshToken: b.refresh_token });
    expect(new Set([a.refresh_token, b.refresh_token, c.refresh_token]).size).toBe(3);
    expect((await t.core.store.sessions.findSession(a.session_id))!.rotationCount).toBe(2);
  });

  test("refresh tokens are at least 256 bits, URL-safe", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    for (const token of [a.refresh_token, b.refresh_token]) {
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(token, "base64url").length).toBeGreaterThanOrEqual(32);
    }
  });

  test("user_agent and ip given on refresh replace the stored ones; absent ones keep them", async () => {
    const a = await t.core.sessions.create({ userId: "alice", userAgent: "old", ip: "192.0.2.1" });
    const b = await t.core.sessions.refresh({
      refreshToken: a.refresh_token,
      userAgent: "new\u0007",
      ip: "2001:DB8::0:1",
    });
    let row = await t.core.store.sessions.findSession(a.session_id);
    expect([row!.userAgent, row!.ip]).toEqual(["new", "2001:db8::1"]);
    await t.core.sessions.refresh({ refreshToken: b.refresh_token });
    row = await t.core.store.sessions.findSession(a.session_id);
    expect([row!.userAgent, row!.ip]).toEqual(["new", "2001:db8::1"]);
  });
});

describe("grace window", () => {
  test("a retry within the window returns the identical refresh token and a fresh access token; one rotation", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    t.clock.advance(1000);
    const first = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    t.clock.advance(9_999); // just inside the 10 s window
    const retry = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    expect(retry.refresh_token).toBe(first.refresh_token);
    expect(retry.session_id).toBe(first.session_id);
    expect(retry.access_token).not.toBe(first.access_token);
    const row = await t.core.store.sessions.findSession(a.session_id);
    expect(row!.rotationCount).toBe(1);
    expect(row!.revokedAt).toBeNull();
    // The token of the answer is still the current one.
    expect((await t.core.sessions.validate(first.refresh_token)).active).toBe(true);
  });

  test("concurrent refreshes with one token all succeed with one identical refresh token; rotated once", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.core.sessions.refresh({ refreshToken: a.refresh_token })),
    );
    expect(new Set(answers.map((x) => x.refresh_token)).size).toBe(1);
    expect(answers[0].refresh_token).not.toBe(a.refresh_token);
    expect((await t.core.store.sessions.findSession(a.session_id))!.rotationCount).toBe(1);
  });

  test("the grace replay does not move last_used_at nor rotate", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    t.clock.advance(1000);
    await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    const before = await t.core.store.sessions.findSession(a.session_id);
    t.clock.advance(5000);
    await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    const after = await t.core.store.sessions.findSession(a.session_id);
    expect(after!.refreshTokenHash).toBe(before!.refreshTokenHash);
    expect(after!.rotatedAt).toBe(before!.rotatedAt);
    expect(after!.rotationCount).toBe(1);
  });
});

describe("reuse", () => {
  test("the rotated token after the window is invalid_grant and revokes the session, committed", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    t.clock.advance(10_001);
    await invalidGrant(t.core.sessions.refresh({ refreshToken: a.refresh_token }));
    const row = await t.core.store.sessions.findSession(a.session_id);
    expect(row!.revokedAt).toBe(t.clock.now());
    expect(row!.revokeReason).toBe("refresh_token_reuse");
    // Committed: the current token is dead too, also when read back from a fresh connection.
    await invalidGrant(t.core.sessions.refresh({ refreshToken: b.refresh_token }));
    const { Database } = await import("bun:sqlite");
    const other = new Database(`${t.dir}/sessions.db`, { readonly: true });
    try {
      const raw = other.query("select revoke_reason from sessions where session_id = ?").get(a.session_id) as {
        revoke_reason: string;
      };
      expect(raw.revoke_reason).toBe("refresh_token_reuse");
    } finally {
      other.close();
    }
  });

  test("a grandparent token inside the window of its child's rotation still counts as reuse", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    await t.core.sessions.refresh({ refreshToken: b.refresh_token });
    // No time passed: b is in grace, a is older.
    await invalidGrant(t.core.sessions.refresh({ refreshToken: a.refresh_token }));
    const row = await t.core.store.sessions.findSession(a.session_id);
    expect(row!.revokeReason).toBe("refresh_token_reuse");
  });

  test("reuse revokes only that session; the user's other sessions keep working", async () => {
    const one = await t.core.sessions.create({ userId: "alice" });
    const two = await t.core.sessions.create({ userId: "alice" });
    await t.core.sessions.refresh({ refreshToken: one.refresh_token });
    t.clock.advance(11_000);
    await invalidGrant(t.core.sessions.refresh({ refreshToken: one.refresh_token }));
    expect((await t.core.store.sessions.findSession(two.session_id))!.revokedAt).toBeNull();
    const next = await t.core.sessions.refresh({ refreshToken: two.refresh_token });
    expect(next.session_id).toBe(two.session_id);
  });

  test("a replay after the session was revoked stays invalid_grant and changes nothing", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    t.clock.advance(11_000);
    await invalidGrant(t.core.sessions.refresh({ refreshToken: a.refresh_token }));
    const row = await t.core.store.sessions.findSession(a.session_id);
    const events = (await t.core.store.outbox.pendingEvents(100)).length;
    t.clock.advance(1000);
    await invalidGrant(t.core.sessions.refresh({ refreshToken: a.refresh_token }));
    expect(await t.core.store.sessions.findSession(a.session_id)).toEqual(row);
    expect((await t.core.store.outbox.pendingEvents(100)).length).toBe(events);
  });

  test("an unknown token is invalid_grant and changes nothing", async () => {
    const a = await t.core.sessions.create({ userId: "alice" });
    const before = await t.core.store.sessions.findSession(a.session_id);
    for (const token of ["", "x", "A".repeat(43), "\ud800", `${a.refresh_token}x`]) {
      await invalidGrant(t.core.sessions.refresh({ refreshToken: token }));
    }
    expect(await t.core.store.sessions.findSession(a.session_id)).toEqual(before);
  });
});
