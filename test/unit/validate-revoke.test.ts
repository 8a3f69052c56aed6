/** validate is read-only; revoke by refresh token picks logout or refresh_token_reuse. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { openTestCore, type TestCore } from "../support/core";

let t: TestCore;
beforeEach(async () => {
  t = await openTestCore({ REFRESH_REUSE_GRACE: "10s" });
});
afterEach(() => t.close());

const state = async () =>
  JSON.stringify({
    sessions: await t.core.store.admin.listSessions({ status: "all" }, t.clock.now()),
    events: await t.core.store.outbox.pendingEvents(1000),
  });

test("validate answers the session and changes nothing (no last_used_at, no idle extension)", async () => {
  const created = t.clock.now();
  const pair = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(60_000);
  const before = await state();
  const answer = await t.core.sessions.validate(pair.refresh_token);
  expect(answer).toEqual({
    active: true,
    session_id: pair.session_id,
    user_id: "alice",
    created_at: new Date(created).toISOString(),
    last_used_at: new Date(created).toISOString(),
    expires_at: pair.refresh_token_expires_at,
  });
  expect(await state()).toBe(before);
  // Nor does reading the session list or authenticating.
  await t.core.sessions.authenticate(pair.access_token);
  await t.core.sessions.listOwn(pair.access_token);
  expect(await state()).toBe(before);
  expect((await t.core.store.sessions.findSession(pair.session_id))!.lastUsedAt).toBe(created);
});

test("validate of unknown, rotated, revoked tokens is exactly {active:false}", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  const next = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  expect(await t.core.sessions.validate(pair.refresh_token)).toEqual({ active: false }); // rotated (even in grace)
  expect(await t.core.sessions.validate("nope")).toEqual({ active: false });
  await t.core.sessions.revokeByRefreshToken(next.refresh_token);
  expect(await t.core.sessions.validate(next.refresh_token)).toEqual({ active: false });
});

test("revoke with the current token: reason logout", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(1000);
  await t.core.sessions.revokeByRefreshToken(pair.refresh_token);
  const row = await t.core.store.sessions.findSession(pair.session_id);
  expect([row!.revokeReason, row!.revokedAt]).toEqual(["logout", t.clock.now()]);
});

test("revoke with the previous token inside the grace window: logout", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  t.clock.advance(5000);
  await t.core.sessions.revokeByRefreshToken(pair.refresh_token);
  expect((await t.core.store.sessions.findSession(pair.session_id))!.revokeReason).toBe("logout");
});

test("revoke with the previous token after the window: refresh_token_reuse", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  t.clock.advance(10_001);
  await t.core.sessions.revokeByRefreshToken(pair.refresh_token);
  expect((await t.core.store.sessions.findSession(pair.session_id))!.revokeReason).toBe("refresh_token_reuse");
});

test("revoke with a grandparent token: refresh_token_reuse", async () => {
  const a = await t.core.sessions.create({ userId: "alice" });
  const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
  await t.core.sessions.refresh({ refreshToken: b.refresh_token });
  await t.core.sessions.revokeByRefreshToken(a.refresh_token);
  expect((await t.core.store.sessions.findSession(a.session_id))!.revokeReason).toBe("refresh_token_reuse");
});

test("revoke with an unknown token changes nothing; a second revoke emits no second event", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  const before = await state();
  await t.core.sessions.revokeByRefreshToken("unknown-token");
  await t.core.sessions.revokeByRefreshToken("");
  expect(await state()).toBe(before);
  await t.core.sessions.revokeByRefreshToken(pair.refresh_token);
  const after = await state();
  t.clock.advance(1000);
  await t.core.sessions.revokeByRefreshToken(pair.refresh_token);
  expect(await state()).toBe(after);
});

test("revoking one session leaves the user's others alone", async () => {
  const one = await t.core.sessions.create({ userId: "alice" });
  const two = await t.core.sessions.create({ userId: "alice" });
  await t.core.sessions.revokeByRefreshToken(one.refresh_token);
  expect((await t.core.sessions.validate(two.refresh_token)).active).toBe(true);
});

test("revokeOwn: the caller's own session only; foreign and malformed ids are not_found", async () => {
  const alice = await t.core.sessions.create({ userId: "alice" });
  const bob = await t.core.sessions.create({ userId: "bob" });
  const caller = await t.core.sessions.authenticate(alice.access_token);
  const code = (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e) => e.code,
    );
  expect(await code(t.core.sessions.revokeOwn(caller, bob.session_id))).toBe("not_found");
  expect(await code(t.core.sessions.revokeOwn(caller, bob.session_id.toUpperCase()))).toBe("not_found");
  expect(await code(t.core.sessions.revokeOwn(caller, "all"))).toBe("not_found");
  expect((await t.core.store.sessions.findSession(bob.session_id))!.revokedAt).toBeNull();
  expect(await code(t.core.sessions.revokeOwn(caller, alice.session_id))).toBe("ok");
  expect(await code(t.core.sessions.revokeOwn(caller, alice.session_id))).toBe("ok"); // idempotent
});

test("revokeAllOwn: keep_current keeps the caller's session (logout_others), otherwise logout_all", async () => {
  const a = await t.core.sessions.create({ userId: "alice" });
  const b = await t.core.sessions.create({ userId: "alice" });
  const c = await t.core.sessions.create({ userId: "alice" });
  const bob = await t.core.sessions.create({ userId: "bob" });
  const caller = await t.core.sessions.authenticate(a.access_token);
  expect(await t.core.sessions.revokeAllOwn(caller, true)).toBe(2);
  expect((await t.core.store.sessions.findSession(a.session_id))!.revokedAt).toBeNull();
  for (const s of [b, c])
    expect((await t.core.store.sessions.findSession(s.session_id))!.revokeReason).toBe("logout_others");
  expect(await t.core.sessions.revokeAllOwn(caller, false)).toBe(1);
  expect((await t.core.store.sessions.findSession(a.session_id))!.revokeReason).toBe("logout_all");
  expect((await t.core.store.sessions.findSession(bob.session_id))!.revokedAt).toBeNull();
});
