/**
 * Bounded memory and expiry with a short ACCESS_TOKEN_TTL on the real server: a revoked session is
 * tracked until its access_token_expires_at plus the tolerance, then forgotten; a verifier started
 * later does not even take in revocations whose tokens have all expired; expired tokens are
 * token_expired, memo or not.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openSession, type Stack, startStack, Verifiers, waitFor, waitForRefusal } from "./support";

const verifiers = new Verifiers();
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ ACCESS_TOKEN_TTL: "4s" });
}, 60_000);
afterAll(async () => {
  await verifiers.closeAll();
  await stack.stop();
});

test("20 revoked sessions are tracked, then forgotten once their tokens expired; tokens are then token_expired", async () => {
  const verifier = await verifiers.start(stack.options({ clockToleranceSeconds: 1 }));
  const base = verifier.status().tracked;
  const pairs = await Promise.all(Array.from({ length: 20 }, (_, i) => openSession(stack, `ttl-${i}`)));
  const alive = await openSession(stack, "ttl-alive");
  // Verified once, so the memo holds them: expiry must be checked on memo hits too.
  for (const pair of [...pairs, alive]) await verifier.verify(pair.access_token);
  await Promise.all(pairs.map((pair) => stack.api.revoke(pair.refresh_token)));
  await waitFor("20 tracked", () => verifier.status().tracked === base + 20);
  for (const pair of pairs) await waitForRefusal(verifier, pair.access_token, "session_revoked", 1_000);
  await waitFor("forgotten", () => verifier.status().tracked === 0, 15_000);
  for (const pair of pairs) await waitForRefusal(verifier, pair.access_token, "token_expired", 1_000);
  await waitForRefusal(verifier, alive.access_token, "token_expired", 1_000);

  // The stream still holds the 20 events; a verifier started now reads them and keeps none.
  const late = await verifiers.start(stack.options({ clockToleranceSeconds: 1 }));
  expect(late.status()).toMatchObject({ revocations: "live", tracked: 0, malformedEvents: 0 });
  expect(
    (await stack.natsTest.readAll("SESSIONS")).filter((m) => m.subject === "session.revoked").length,
  ).toBeGreaterThanOrEqual(20);
}, 60_000);
