/** The outbox rows written with each change: CloudEvents 1.0, no token or hash inside. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { TokenPair } from "../../server/core/sessions";
import { openTestCore, type TestCore } from "../support/core";

let t: TestCore;
beforeEach(async () => {
  t = await openTestCore({ ACCESS_TOKEN_TTL: "15m" });
});
afterEach(() => t.close());

const events = async () =>
  (await t.core.store.outbox.pendingEvents(1000)).map((row) => ({ row, event: JSON.parse(row.payload) }));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test("session.created: CloudEvents envelope and exactly the contract's data fields", async () => {
  const pair = await t.core.sessions.create({
    userId: "alice",
    userAgent: "ua",
    ip: "192.0.2.1",
    claims: { role: "x" },
  });
  const [{ row, event }] = await events();
  expect(row.subject).toBe("session.created");
  expect(row.id).toBe(event.id);
  expect(Object.keys(event).sort()).toEqual([
    "data",
    "datacontenttype",
    "id",
    "source",
    "specversion",
    "subject",
    "time",
    "type",
  ]);
  expect(event).toMatchObject({
    specversion: "1.0",
    source: "session-service",
    type: "session.created",
    subject: pair.session_id,
    time: new Date(t.clock.now()).toISOString(),
    datacontenttype: "application/json",
  });
  expect(event.id).toMatch(UUID);
  expect(event.data).toEqual({
    session_id: pair.session_id,
    user_id: "alice",
    user_agent: "ua",
    ip: "192.0.2.1",
    created_at: new Date(t.clock.now()).toISOString(),
    expires_at: pair.refresh_token_expires_at,
    bound: false,
  });
});

test("session.revoked: data fields; access_token_expires_at is the latest exp issued", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  t.clock.advance(60_000);
  const second = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  t.clock.advance(5_000);
  // A grace replay issues another access token, later still.
  await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  const lastIssue = t.clock.now();
  t.clock.advance(1000);
  await t.core.sessions.revokeByRefreshToken(second.refresh_token);
  const revoked = (await events()).filter((e) => e.event.type === "session.revoked");
  expect(revoked.length).toBe(1);
  const { row, event } = revoked[0];
  expect(row.subject).toBe("session.revoked");
  expect(event.subject).toBe(pair.session_id);
  expect(event.data).toEqual({
    session_id: pair.session_id,
    user_id: "alice",
    reason: "logout",
    revoked_at: new Date(t.clock.now()).toISOString(),
    access_token_expires_at: new Date((Math.floor(lastIssue / 1000) + 900) * 1000).toISOString(),
  });
  expect(event.time).toMatch(ISO);
});

test("created precedes revoked for a session; rotation writes no event", async () => {
  const pair = await t.core.sessions.create({ userId: "alice" });
  const next = await t.core.sessions.refresh({ refreshToken: pair.refresh_token });
  expect((await events()).length).toBe(1);
  await t.core.sessions.revokeByRefreshToken(next.refresh_token);
  const all = await events();
  expect(all.map((e) => e.event.type)).toEqual(["session.created", "session.revoked"]);
  expect(all[0].row.seq).toBeLessThan(all[1].row.seq);
});

test("every revocation path writes one event with its reason", async () => {
  const mk = () => t.core.sessions.create({ userId: "alice" });
  const reuse = await mk();
  await t.core.sessions.refresh({ refreshToken: reuse.refresh_token });
  t.clock.advance(11_000);
  await t.core.sessions.refresh({ refreshToken: reuse.refresh_token }).catch(() => {});
  const own = await mk();
  await t.core.sessions.revokeOwn(await t.core.sessions.authenticate(own.access_token), own.session_id);
  const admin = await mk();
  await t.core.sessions.revokeByAdmin(admin.session_id);
  await mk();
  await t.core.sessions.deleteUser("alice");
  const reasons = (await events()).filter((e) => e.event.type === "session.revoked").map((e) => e.event.data.reason);
  expect(reasons).toEqual(["refresh_token_reuse", "logout", "admin", "user_deleted"]);
});

test("no token, hash, nonce or claim in any outbox row", async () => {
  const pairs: TokenPair[] = [];
  const a = await t.core.sessions.create({ userId: "alice", claims: { secret_claim: "claim-value-xyz" } });
  pairs.push(a);
  const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
  pairs.push(b);
  await t.core.sessions.revokeByRefreshToken(b.refresh_token);
  const row = await t.core.store.sessions.findSession(a.session_id);
  const text = JSON.stringify(await t.core.store.outbox.pendingEvents(1000));
  const secrets = [
    ...pairs.flatMap((p) => [p.refresh_token, p.access_token]),
    row!.refreshTokenHash,
    row!.previousTokenHash!,
    row!.rotationNonce!,
    "claim-value-xyz",
  ];
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/hash|token"|nonce/i);
});
