/** MAX_SESSIONS_PER_USER eviction and deleted users. */
import { afterEach, expect, test } from "bun:test";
import type { ServiceError } from "../../server/core/errors";
import { openTestCore, type TestCore } from "../support/core";

let t: TestCore;
afterEach(() => t.close());

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (e) => (e as ServiceError).code,
  );

test("at the cap, the least recently used session is revoked with reason session_limit", async () => {
  t = await openTestCore({ MAX_SESSIONS_PER_USER: "3" });
  const a = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(1000);
  const b = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(1000);
  const c = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(1000);
  // Using the oldest makes b the least recently used one.
  await t.core.sessions.refresh({ refreshToken: a.refresh_token });
  t.clock.advance(1000);
  const d = await t.core.sessions.create({ userId: "alice" });
  const evicted = await t.core.store.sessions.findSession(b.session_id);
  expect(evicted!.revokeReason).toBe("session_limit");
  expect(evicted!.revokedAt).toBe(t.clock.now());
  const active = await t.core.store.sessions.listActiveSessions("alice", t.clock.now());
  expect(active.map((row) => row.sessionId).sort()).toEqual([a.session_id, c.session_id, d.session_id].sort());
  // In the same transaction: the outbox holds the revocation before the new session's creation.
  const events = (await t.core.store.outbox.pendingEvents(100)).map((row) => JSON.parse(row.payload));
  const tail = events.slice(-2).map((e) => [e.type, e.subject, e.data.reason]);
  expect(tail).toEqual([
    ["session.revoked", b.session_id, "session_limit"],
    ["session.created", d.session_id, undefined],
  ]);
});

test("other users do not count towards the cap", async () => {
  t = await openTestCore({ MAX_SESSIONS_PER_USER: "1" });
  const alice = await t.core.sessions.create({ userId: "alice" });
  await t.core.sessions.create({ userId: "bob" });
  expect((await t.core.store.sessions.findSession(alice.session_id))!.revokedAt).toBeNull();
  await t.core.sessions.create({ userId: "alice" });
  expect((await t.core.store.sessions.findSession(alice.session_id))!.revokeReason).toBe("session_limit");
});

test("MAX_SESSIONS_PER_USER=0 means no limit", async () => {
  t = await openTestCore({ MAX_SESSIONS_PER_USER: "0" });
  for (let i = 0; i < 120; i++) await t.core.sessions.create({ userId: "alice" });
  expect((await t.core.store.sessions.listActiveSessions("alice", t.clock.now())).length).toBe(120);
  expect((await t.core.store.admin.stats(t.clock.now())).sessions.revoked).toBe(0);
});

test("the default cap is 100", async () => {
  t = await openTestCore();
  for (let i = 0; i < 101; i++) await t.core.sessions.create({ userId: "alice" });
  const stats = await t.core.store.admin.stats(t.clock.now());
  expect(stats.sessions).toEqual({ active: 100, revoked: 1, expired: 0 });
});

test("a deleted user's sessions are revoked (user_deleted) and no new session is opened", async () => {
  t = await openTestCore();
  const one = await t.core.sessions.create({ userId: "alice" });
  const two = await t.core.sessions.create({ userId: "alice" });
  const bob = await t.core.sessions.create({ userId: "bob" });
  expect(await t.core.sessions.deleteUser("alice")).toBe(2);
  for (const id of [one.session_id, two.session_id]) {
    expect((await t.core.store.sessions.findSession(id))!.revokeReason).toBe("user_deleted");
  }
  expect((await t.core.store.sessions.findSession(bob.session_id))!.revokedAt).toBeNull();
  const before = await t.core.store.admin.stats(t.clock.now());
  expect(await code(t.core.sessions.create({ userId: "alice" }))).toBe("user_deleted");
  expect(await t.core.store.admin.stats(t.clock.now())).toEqual(before);
  // Redelivery is harmless: nothing more to revoke, no more events.
  const events = (await t.core.store.outbox.pendingEvents(100)).length;
  expect(await t.core.sessions.deleteUser("alice")).toBe(0);
  expect((await t.core.store.outbox.pendingEvents(100)).length).toBe(events);
  expect(await code(t.core.sessions.create({ userId: "alice" }))).toBe("user_deleted");
});
