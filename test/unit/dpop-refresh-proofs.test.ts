/**
 * RefreshProofs, the DpopProofs port the refresh flow calls: settings in, ProofUse or refusal code
 * out, the htu fixed to PUBLIC_URL + /session/refresh and the method to POST.
 */
import { expect, test } from "bun:test";
import { decodeSecretKey } from "../../server/config";
import { RefreshProofs } from "../../server/core/dpop/refresh-proofs";
import { deriveSecrets } from "../../server/core/secrets";
import { FakeClock } from "../support/core";
import { dpopClaims, dpopKey, dpopProof } from "../support/dpop";

const secrets = deriveSecrets(decodeSecretKey("c".repeat(64))!);
const settings = {
  publicUrl: "https://gw.example/auth",
  proofMaxAgeMs: 60_000,
  clockSkewMs: 5_000,
  nonce: false,
  nonceKey: secrets.dpopNonceKey,
};
const HTU = "https://gw.example/auth/session/refresh";

test("a good proof becomes the jti to record (per key: jkt.jti), remembered until iat + DPOP_PROOF_MAX_AGE", async () => {
  const clock = new FakeClock();
  const key = await dpopKey("ES256");
  const proofs = new RefreshProofs(settings);
  const proof = await dpopProof(key, dpopClaims(HTU, clock.now(), { jti: "once" }));
  expect(await proofs.check(proof, key.jkt, clock.now())).toEqual({
    ok: true,
    use: { jti: `${key.jkt}.once`, expiresAt: clock.now() + 60_000 + 1 },
  });
  expect(proofs.currentNonce(clock.now())).toBeNull();
});

test("refusals keep their code; the method is POST and the htu the refresh endpoint behind PUBLIC_URL", async () => {
  const clock = new FakeClock();
  const key = await dpopKey("EdDSA");
  const proofs = new RefreshProofs(settings);
  expect(await proofs.check(undefined, key.jkt, clock.now())).toEqual({ ok: false, code: "invalid_dpop_proof" });
  const get = await dpopProof(key, dpopClaims(HTU, clock.now(), { htm: "GET" }));
  expect(await proofs.check(get, key.jkt, clock.now())).toEqual({ ok: false, code: "invalid_dpop_proof" });
  const noPrefix = await dpopProof(key, dpopClaims("https://gw.example/session/refresh", clock.now()));
  expect(await proofs.check(noPrefix, key.jkt, clock.now())).toEqual({ ok: false, code: "invalid_dpop_proof" });
});

test("with DPOP_NONCE=on: use_dpop_nonce, then the nonce it hands out is accepted, also by a second instance", async () => {
  const clock = new FakeClock();
  const key = await dpopKey("RS256");
  const first = new RefreshProofs({ ...settings, nonce: true });
  const second = new RefreshProofs({ ...settings, nonce: true });
  const withoutNonce = await dpopProof(key, dpopClaims(HTU, clock.now()));
  expect(await first.check(withoutNonce, key.jkt, clock.now())).toEqual({ ok: false, code: "use_dpop_nonce" });
  const nonce = first.currentNonce(clock.now())!;
  expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  const withNonce = await dpopProof(key, dpopClaims(HTU, clock.now(), { nonce }));
  expect((await second.check(withNonce, key.jkt, clock.now())).ok).toBe(true);
  // The nonce step is DPOP_PROOF_MAX_AGE: two steps later the nonce is stale.
  clock.advance(2 * settings.proofMaxAgeMs);
  const late = await dpopProof(key, dpopClaims(HTU, clock.now(), { nonce }));
  expect(await second.check(late, key.jkt, clock.now())).toEqual({ ok: false, code: "use_dpop_nonce" });
});

test("a bad PUBLIC_URL cannot make a checker (the settings refuse it first)", () => {
  expect(() => new RefreshProofs({ ...settings, publicUrl: "gw.example" })).toThrow("PUBLIC_URL");
});
