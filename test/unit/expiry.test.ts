/** Idle and absolute deadlines (CONTRACT §3 "Expiry"). Idle 1 h, lifetime 3 h for readable numbers. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { ServiceError } from "../../server/core/errors";
import { openTestCore, type TestCore } from "../support/core";

const HOUR = 3_600_000;
let t: TestCore;
beforeEach(async () => {
  t = await openTestCore({ SESSION_IDLE_TIMEOUT: "1h", SESSION_MAX_LIFETIME: "3h" });
});
afterEach(() => t.close());

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (e) => (e as ServiceError).code,
  );

test("a new session ends at the idle deadline; refresh_token_expires_at says so", async () => {
  const start = t.clock.now();
  const pair = await t.core.sessions.create({ userId: "alice" });
  expect(pair.refresh_token_expires_at).toBe(new Date(start + HOUR).toISOString());
  const row = await t.core.store.sessions.findSession(pair.session_id);
  expect(row!.absoluteExpiresAt).toBe(start + 3 * HOUR);
  expect(row!.expiresAt).toBe(start + HOUR);
});

test("unused past the idle deadline: refresh fails, validate says inactive", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(HOUR - 1);
  expect((await t.core.sessions.validate(pair.refresh_token)).active).toBe(true);
  t.clock.advance(1);
  expect((await t.core.sessions.validate(pair.refresh_token)).active).toBe(false);
  expect(await code(t.core.sessions.refresh({ refreshToken: pair.refresh_token }))).toBe("invalid_grant");
  // Expiry is not a revocation.
  expect((await t.core.store.sessions.findSession(pair.session_id))!.revokedAt).toBeNull();
});

test("refresh moves the idle deadline but never past the absolute one", async () => {
  const start = t.clock.now();
  let pair = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(HOUR - 1000);
  pair = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  expect(pair.refresh_token_expires_at).toBe(new Date(t.clock.now() + HOUR).toISOString());
  t.clock.advance(HOUR - 1000);
  pair = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  t.clock.advance(HOUR - 1000); // start + 3h - 3 s
  pair = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  expect(pair.refresh_token_expires_at).toBe(new Date(start + 3 * HOUR).toISOString());
  const row = await t.core.store.sessions.findSession(pair.session_id);
  expect(row!.expiresAt).toBe(start + 3 * HOUR);
  expect(row!.absoluteExpiresAt).toBe(start + 3 * HOUR);
});

test("the absolute deadline ends a session that is used all the time", async () => {
  let pair = await t.core.sessions.create({ userId: "alice" });
  for (let i = 0; i < 5; i++) {
    t.clock.advance(HOUR / 2);
    pair = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  }
  t.clock.advance(HOUR / 2); // exactly 3 h after creation
  expect(await code(t.core.sessions.refresh({ refreshToken: pair.refresh_token }))).toBe("invalid_grant");
  expect((await t.core.sessions.validate(pair.refresh_token)).active).toBe(false);
});

test("an expired session's access token is refused", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  expect((await t.core.sessions.authenticate(pair.access_token)).sessionId).toBe(pair.session_id);
  t.clock.advance(HOUR);
  expect(await code(t.core.sessions.authenticate(pair.access_token))).toBe("invalid_token");
});

test("a session past its absolute deadline is not replayed, even inside the grace window", async () => {
  let pair = await t.core.sessions.create({ userId: "alice" });
  for (const step of [HOUR - 1000, HOUR - 1000, HOUR - 3000]) {
    t.clock.advance(step);
    pair = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  }
  const last = pair.refresh_token;
  t.clock.advance(1000);
  const next = await t.core.sessions.refresh({ refreshToken: last }); // rotated at 3 h - 4 s
  t.clock.advance(4000); // 3 h: ended, though still within 10 s of the rotation
  expect(await code(t.core.sessions.refresh({ refreshToken: last }))).toBe("invalid_grant");
  expect(await code(t.core.sessions.refresh({ refreshToken: next.refresh_token }))).toBe("invalid_grant");
});
