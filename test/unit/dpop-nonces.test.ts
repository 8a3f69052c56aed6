/**
 * Stateless DPoP nonces: keyed by the dpopNonceKey sub-key of SECRET_KEY, rotating by time step,
 * accepted by every instance with the same SECRET_KEY and by none with another.
 */
import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { decodeSecretKey } from "../../server/config";
import { DpopNonces } from "../../server/core/dpop/nonces";
import { deriveSecrets } from "../../server/core/secrets";
import { FakeClock } from "../support/core";

const STEP = 60_000;
const nonceKey = (secretHex: string) => deriveSecrets(decodeSecretKey(secretHex)!).dpopNonceKey;
const A = "a".repeat(64);
const B = "b".repeat(64);

test("the nonce key is a sub-key of its own, not one of the others", () => {
  const secrets = deriveSecrets(decodeSecretKey(A)!);
  expect(secrets.dpopNonceKey.length).toBe(32);
  for (const [name, key] of Object.entries(secrets)) {
    if (name !== "dpopNonceKey") expect(key.equals(secrets.dpopNonceKey)).toBe(false);
  }
});

test("the format is fixed (instances of two releases must agree during a rolling deploy)", () => {
  const now = new FakeClock().now();
  const key = nonceKey(A);
  const step = Math.floor(now / STEP);
  const expected = createHmac("sha256", key)
    .update(`dpop-nonce/v1:${step}`)
    .digest()
    .subarray(0, 16)
    .toString("base64url");
  expect(new DpopNonces(key, STEP).current(now)).toBe(expected);
  expect(expected).toBe("dtTuarLaMgKQu3Wxxkthuw");
});

test("opaque, short and URL-safe; the same for a whole step, another in the next", () => {
  const clock = new FakeClock();
  const nonces = new DpopNonces(nonceKey(A), STEP);
  const first = nonces.current(clock.now());
  expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
  clock.advance(STEP - 1);
  expect(nonces.current(clock.now())).toBe(first);
  clock.advance(1);
  expect(nonces.current(clock.now())).not.toBe(first);
});

test("accepted from its step until the end of the next (and one step early, for a peer slightly ahead)", () => {
  const clock = new FakeClock();
  const nonces = new DpopNonces(nonceKey(A), STEP);
  const issuedAt = clock.now();
  const nonce = nonces.current(issuedAt);
  expect(nonces.accepts(nonce, issuedAt)).toBe(true);
  expect(nonces.accepts(nonce, issuedAt + STEP)).toBe(true);
  expect(nonces.accepts(nonce, issuedAt + 2 * STEP - 1)).toBe(true);
  expect(nonces.accepts(nonce, issuedAt + 2 * STEP)).toBe(false);
  expect(nonces.accepts(nonce, issuedAt - STEP)).toBe(true);
  expect(nonces.accepts(nonce, issuedAt - STEP - 1)).toBe(false);
});

test("another instance with the same SECRET_KEY accepts it; one with another SECRET_KEY does not", () => {
  const now = new FakeClock().now();
  const issuer = new DpopNonces(nonceKey(A), STEP);
  const peer = new DpopNonces(nonceKey(A), STEP);
  const stranger = new DpopNonces(nonceKey(B), STEP);
  const nonce = issuer.current(now);
  expect(peer.current(now)).toBe(nonce);
  expect(peer.accepts(nonce, now)).toBe(true);
  expect(stranger.accepts(nonce, now)).toBe(false);
  expect(issuer.accepts(stranger.current(now), now)).toBe(false);
});

test("forged and malformed nonces are refused", () => {
  const now = new FakeClock().now();
  const nonces = new DpopNonces(nonceKey(A), STEP);
  const good = nonces.current(now);
  const flipped = `${good.slice(0, 5)}${good[5] === "A" ? "B" : "A"}${good.slice(6)}`;
  for (const nonce of [flipped, "A".repeat(22), `${good}=`, good.slice(0, 21), "", 7, null, undefined, [good]]) {
    expect(nonces.accepts(nonce, now)).toBe(false);
  }
});

test("a step shorter than a second is refused when the service is composed", () => {
  expect(() => new DpopNonces(nonceKey(A), 999)).toThrow("nonce step");
  expect(() => new DpopNonces(nonceKey(A), Number.NaN)).toThrow("nonce step");
});
