/**
 * Malformed messages on session.revoked (a misbehaving publisher, not the service): each is skipped
 * and counted in status().malformedEvents, the verifier stays live and applies the next real
 * revocation; one that names a session without a readable expiry still denies that session.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { VerifierEvent } from "../../verifier/index.ts";
import { expectRefused, openSession, type Stack, startStack, Verifiers, waitFor, waitForRefusal } from "./support";

const verifiers = new Verifiers();
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await verifiers.closeAll();
  await stack.stop();
});

const POISON: Array<Uint8Array | string | object> = [
  "not json {",
  "null",
  "[1,2,3]",
  '"a string"',
  { specversion: "1.0", type: "session.revoked" },
  { data: null },
  { data: "019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11" },
  { data: { session_id: 42 } },
  { data: { session_id: "" } },
  { data: { session_id: "x".repeat(300) } },
  { data: { session_id: "pad", pad: "x".repeat(70_000) } },
  new Uint8Array([0xff, 0xfe, 0x00, 0x7b]),
];

test("poison is skipped and counted, never fatal; the next real revocation is applied", async () => {
  const events: VerifierEvent[] = [];
  const verifier = await verifiers.start(stack.options({ onEvent: (e) => events.push(e) }));
  expect(verifier.status().malformedEvents).toBe(0);
  const before = verifier.status().tracked;
  for (const payload of POISON) await stack.natsTest.publish("session.revoked", payload);
  // An empty message too (NATS allows it).
  await stack.natsTest.publish("session.revoked", new Uint8Array());
  await waitFor("all counted", () => verifier.status().malformedEvents === POISON.length + 1);
  expect(events.filter((e) => e.type === "malformed_event").length).toBe(POISON.length + 1);
  expect(verifier.status()).toMatchObject({ revocations: "live", tracked: before });

  const pair = await openSession(stack, "after-poison");
  await verifier.verify(pair.access_token);
  expect((await stack.api.revoke(pair.refresh_token)).status).toBe(200);
  await waitForRefusal(verifier, pair.access_token, "session_revoked");

  // A verifier started now replays the same poison from the lookback and counts it the same.
  const late = await verifiers.start(stack.options());
  expect(late.status()).toMatchObject({ revocations: "live", malformedEvents: POISON.length + 1 });
  await expectRefused(late, pair.access_token, "session_revoked");
}, 30_000);

test("an event naming a session but no readable access_token_expires_at still denies it, and is counted", async () => {
  const verifier = await verifiers.start(stack.options());
  const counted = verifier.status().malformedEvents;
  const pair = await openSession(stack, "no-expiry");
  await verifier.verify(pair.access_token);
  await stack.natsTest.publish("session.revoked", {
    specversion: "1.0",
    type: "session.revoked",
    data: { session_id: pair.session_id, access_token_expires_at: "soon" },
  });
  await waitForRefusal(verifier, pair.access_token, "session_revoked");
  expect(verifier.status().malformedEvents).toBe(counted + 1);
}, 30_000);
