/**
 * Every revocation path of the service makes every connected verifier refuse the session's access
 * tokens with session_revoked — and only those sessions' — and a verifier started later replays the
 * stream and refuses them too. The real server (MAX_SESSIONS_PER_USER=3 for the eviction path) on
 * SQLite, a real nats-server, sessionctl as a process on the server's store.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { sessionAuth } from "../../verifier/elysia.ts";
import type { Verifier } from "../../verifier/index.ts";
import { sessionctl } from "../cli/support";
import type { Pair } from "../support/server";
import { expectRefused, openSession, type Stack, startStack, Verifiers, waitFor, waitForRefusal } from "./support";

const verifiers = new Verifiers();
let stack: Stack;
let fleet: Verifier[];
/** Every token the paths below revoked, and tokens of sessions that stayed active. */
const revoked: Pair[] = [];
const kept: Pair[] = [];

beforeAll(async () => {
  stack = await startStack({ MAX_SESSIONS_PER_USER: "3" });
  await stack.natsTest.waitForStream("USERS");
  await waitFor("consumer session-service", () => stack.natsTest.jsm.consumers.info("USERS", "session-service"));
  fleet = await Promise.all([1, 2, 3].map(() => verifiers.start(stack.options())));
  for (const verifier of fleet) expect(verifier.status().revocations).toBe("live");
}, 60_000);
afterAll(async () => {
  await verifiers.closeAll();
  await stack.stop();
});

/** Accepted everywhere first (so a refusal below is the revocation's doing, not a bad token). */
async function acceptedEverywhere(pairs: Pair[]) {
  for (const verifier of fleet)
    for (const pair of pairs) expect((await verifier.verify(pair.access_token)).sid).toBe(pair.session_id);
}

async function refusedEverywhere(pairs: Pair[]) {
  for (const verifier of fleet)
    for (const pair of pairs) await waitForRefusal(verifier, pair.access_token, "session_revoked");
  revoked.push(...pairs);
}

async function stillAccepted(pairs: Pair[]) {
  // A revocation of another session that has reached every verifier, so these had their chance to be refused.
  const marker = await openSession(stack, `marker-${crypto.randomUUID()}`);
  expect((await stack.api.revoke(marker.refresh_token)).status).toBe(200);
  for (const verifier of fleet) await waitForRefusal(verifier, marker.access_token, "session_revoked");
  await acceptedEverywhere(pairs);
  kept.push(...pairs);
}

describe("each revocation path reaches all three verifiers", () => {
  test("DELETE /session/{id}", async () => {
    const [one, other] = [await openSession(stack, "u-delete"), await openSession(stack, "u-delete")];
    await acceptedEverywhere([one!, other!]);
    expect((await stack.api.logout(one!.access_token, one!.session_id)).status).toBe(204);
    await refusedEverywhere([one!]);
    await stillAccepted([other!]);
  }, 30_000);

  test("DELETE /session/all", async () => {
    const pairs = [
      await openSession(stack, "u-all"),
      await openSession(stack, "u-all"),
      await openSession(stack, "u-all"),
    ];
    const bystander = await openSession(stack, "u-all-bystander");
    await acceptedEverywhere(pairs);
    const res = await stack.api.logoutAll(pairs[0]!.access_token);
    expect(await res.json()).toEqual({ revoked: 3 });
    await refusedEverywhere(pairs);
    await stillAccepted([bystander]);
  }, 30_000);

  test("DELETE /session/all?keep_current=true: all but the caller's session", async () => {
    const [current, ...others] = [
      await openSession(stack, "u-others"),
      await openSession(stack, "u-others"),
      await openSession(stack, "u-others"),
    ];
    await acceptedEverywhere([current!, ...others]);
    const res = await stack.api.logoutAll(current!.access_token, true);
    expect(await res.json()).toEqual({ revoked: 2 });
    await refusedEverywhere(others);
    await stillAccepted([current!]);
  }, 30_000);

  test("POST /session/revoke with the refresh token", async () => {
    const pair = await openSession(stack, "u-revoke");
    await acceptedEverywhere([pair]);
    expect((await stack.api.revoke(pair.refresh_token)).status).toBe(200);
    await refusedEverywhere([pair]);
  }, 30_000);

  test("refresh-token reuse detection", async () => {
    const first = await openSession(stack, "u-reuse");
    const second = (await (await stack.api.refresh(first.refresh_token)).json()) as Pair;
    const third = (await (await stack.api.refresh(second.refresh_token)).json()) as Pair;
    await acceptedEverywhere([first, second, third]);
    // The first token is older than the last rotation: reuse, whatever the grace window.
    expect((await stack.api.refresh(first.refresh_token)).status).toBe(401);
    await refusedEverywhere([first, second, third]); // every access token of the session
  }, 30_000);

  test("session-limit eviction (MAX_SESSIONS_PER_USER=3)", async () => {
    const pairs: Pair[] = [];
    for (let i = 0; i < 3; i++) pairs.push(await openSession(stack, "u-limit"));
    await acceptedEverywhere(pairs);
    const fourth = await openSession(stack, "u-limit");
    await refusedEverywhere([pairs[0]!]); // the least recently used one
    await stillAccepted([pairs[1]!, pairs[2]!, fourth]);
  }, 30_000);

  test("user.deleted published to stream USERS", async () => {
    const pairs = [await openSession(stack, "u-deleted"), await openSession(stack, "u-deleted")];
    const bystander = await openSession(stack, "u-deleted-bystander");
    await acceptedEverywhere(pairs);
    await stack.natsTest.publish("user.deleted", { user_id: "u-deleted" }, crypto.randomUUID());
    await refusedEverywhere(pairs);
    await stillAccepted([bystander]);
  }, 30_000);

  test("sessionctl revoke SESSION_ID and --user, run as a process on the server's store", async () => {
    const one = await openSession(stack, "u-ctl");
    const userPairs = [await openSession(stack, "u-ctl-user"), await openSession(stack, "u-ctl-user")];
    await acceptedEverywhere([one, ...userPairs]);
    const bySession = await sessionctl(stack.dir, ["revoke", one.session_id]);
    expect(bySession.code).toBe(0);
    const byUser = await sessionctl(stack.dir, ["revoke", "--user", "u-ctl-user"]);
    expect(byUser.code).toBe(0);
    await refusedEverywhere([one, ...userPairs]);
  }, 30_000);
});

test("three verifiers, 50 logouts: each session is refused at all three", async () => {
  const pairs = await Promise.all(Array.from({ length: 50 }, (_, i) => openSession(stack, `fifty-${i}`)));
  await acceptedEverywhere(pairs);
  const answers = await Promise.all(pairs.map((pair) => stack.api.logout(pair.access_token, pair.session_id)));
  expect(answers.map((res) => res.status)).toEqual(pairs.map(() => 204));
  await refusedEverywhere(pairs);
  for (const verifier of fleet) expect(verifier.status().tracked).toBeGreaterThanOrEqual(revoked.length);
}, 30_000);

test("a verifier started after all of it replays the stream and refuses every revoked session", async () => {
  const late = await verifiers.start(stack.options());
  expect(late.status()).toMatchObject({ revocations: "live", tracked: fleet[0]!.status().tracked });
  // No waiting: createVerifier resolved only once the lookback was applied.
  for (const pair of revoked) await expectRefused(late, pair.access_token, "session_revoked");
  for (const pair of kept) expect((await late.verify(pair.access_token)).sid).toBe(pair.session_id);
  expect(revoked.length).toBeGreaterThan(60);
}, 30_000);

test("a resource service on Elysia with sessionAuth answers 401 invalid_token right after a logout", async () => {
  const app = new Elysia().use(sessionAuth(fleet[0]!)).get("/orders", ({ session }) => ({ owner: session.sub }));
  const pair = await openSession(stack, "elysia-user");
  const get = () =>
    app.handle(new Request("http://localhost/orders", { headers: { authorization: `Bearer ${pair.access_token}` } }));
  expect(await (await get()).json()).toEqual({ owner: "elysia-user" });
  expect((await stack.api.logout(pair.access_token, pair.session_id)).status).toBe(204);
  const refused = await waitFor("401 from the service", async () => {
    const res = await get();
    return res.status === 401 ? res : null;
  });
  expect(refused.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  expect(await refused.json()).toMatchObject({ error: "invalid_token" });
}, 30_000);
