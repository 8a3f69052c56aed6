/**
 * What the edges and the store need beside the proof check: `dpop_jkt` input validation of
 * POST /session, the WWW-Authenticate / DPoP-Nonce header values, and how long a jti is remembered.
 */
import { expect, test } from "bun:test";
import { calculateJwkThumbprint } from "jose";
import { DPOP_ALGS } from "../../server/core/dpop/algorithms";
import {
  DPOP_ALGS_PARAMETER,
  dpopChallenge,
  dpopErrorHeaders,
  dpopNonceHeaders,
} from "../../server/core/dpop/challenge";
import { refreshHtu } from "../../server/core/dpop/htu";
import { verifyDpopProof } from "../../server/core/dpop/proof";
import { jtiRememberUntil } from "../../server/core/dpop/replay";
import { ServiceError } from "../../server/core/errors";
import { checkDpopJkt } from "../../server/core/input";
import { FakeClock } from "../support/core";
import { dpopClaims, dpopKey, dpopProof } from "../support/dpop";

test("dpop_jkt: every thumbprint jose computes is accepted as it is", async () => {
  for (const alg of DPOP_ALGS) {
    const { jkt } = await dpopKey(alg);
    expect(checkDpopJkt(jkt)).toBe(jkt);
  }
  // The RFC 7638 §3.1 example key's thumbprint.
  const rfc7638 = await calculateJwkThumbprint({
    kty: "RSA",
    e: "AQAB",
    n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  });
  expect(checkDpopJkt(rfc7638)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
});

test("a malformed dpop_jkt is 400 invalid_request, and the message does not repeat it", () => {
  const valid = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
  const malformed = [
    "",
    valid.slice(0, 42),
    `${valid}A`,
    `${valid}=`,
    `${valid.slice(0, 42)}+`,
    `${valid.slice(0, 20)}/${valid.slice(21)}`,
    `${valid.slice(0, 20)} ${valid.slice(21)}`,
    // Decodes to the same 32 bytes as …Xs would with its two spare bits set: not canonical.
    `${valid.slice(0, 42)}t`,
    `urn:ietf:params:oauth:jwk-thumbprint:sha-256:${valid}`,
  ];
  for (const jkt of malformed) {
    let caught: unknown;
    try {
      checkDpopJkt(jkt);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ServiceError);
    expect((caught as ServiceError).code).toBe("invalid_request");
    if (jkt.length >= 8) expect((caught as ServiceError).message).not.toContain(jkt.slice(0, 20));
  }
});

test("WWW-Authenticate and DPoP-Nonce values (CONTRACT §10, RFC 9449 §7.1)", () => {
  expect(DPOP_ALGS_PARAMETER).toBe('algs="EdDSA ES256 RS256 PS256"');
  expect(dpopChallenge("invalid_dpop_proof")).toBe('DPoP error="invalid_dpop_proof", algs="EdDSA ES256 RS256 PS256"');
  expect(dpopChallenge("use_dpop_nonce")).toBe('DPoP error="use_dpop_nonce", algs="EdDSA ES256 RS256 PS256"');
  expect(dpopErrorHeaders("use_dpop_nonce", "n0nce")).toEqual({
    "www-authenticate": 'DPoP error="use_dpop_nonce", algs="EdDSA ES256 RS256 PS256"',
    "dpop-nonce": "n0nce",
  });
  expect(dpopErrorHeaders("invalid_dpop_proof", null)).toEqual({
    "www-authenticate": 'DPoP error="invalid_dpop_proof", algs="EdDSA ES256 RS256 PS256"',
  });
  expect(dpopErrorHeaders("invalid_dpop_proof", "n0nce")["dpop-nonce"]).toBe("n0nce");
  expect(dpopNonceHeaders("n0nce")).toEqual({ "dpop-nonce": "n0nce" });
  expect(dpopNonceHeaders(null)).toEqual({});
});

test("a jti is remembered exactly as long as its proof can be accepted (until iat + DPOP_PROOF_MAX_AGE)", async () => {
  const maxAgeMs = 60_000;
  expect(jtiRememberUntil(1_764_460_800, maxAgeMs)).toBe(1_764_460_860_001);
  expect(jtiRememberUntil(1_764_460_800.25, maxAgeMs)).toBe(1_764_460_860_251);

  const clock = new FakeClock();
  const htu = "https://gw.example/session/refresh";
  const policy = { htu: refreshHtu("https://gw.example"), maxAgeMs, clockSkewMs: 5000, nonces: null };
  const key = await dpopKey("EdDSA");
  const proof = await dpopProof(key, dpopClaims(htu, clock.now()));
  const first = await verifyDpopProof({ proof, jkt: key.jkt, method: "POST", now: clock.now() }, policy);
  if (!first.ok) throw new Error(first.reason);
  // The last instant the proof is still accepted lies before rememberUntil, the first refused one at it.
  const lastAccepted = await verifyDpopProof(
    { proof, jkt: key.jkt, method: "POST", now: first.rememberUntil - 1 },
    policy,
  );
  expect(lastAccepted.ok).toBe(true);
  const atExpiry = await verifyDpopProof({ proof, jkt: key.jkt, method: "POST", now: first.rememberUntil }, policy);
  expect(atExpiry).toEqual({ ok: false, error: "invalid_dpop_proof", reason: "iat_too_old" });
});
