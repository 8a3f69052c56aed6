/** The thumbprint and signature checks on node:crypto agree with jose for every DPoP algorithm. */
import { expect, test } from "bun:test";
import { calculateJwkThumbprint } from "jose";
import { DPOP_ALGS } from "../../server/core/dpop/algorithms";
import { verifyProofSignature } from "../../server/core/dpop/signature";
import { jwkThumbprint } from "../../server/core/dpop/thumbprint";
import { dpopClaims, dpopKey, dpopProof } from "../support/dpop";

test.each(DPOP_ALGS)(
  "%s: same thumbprint as jose; a jose-signed proof verifies, a changed one does not",
  async (alg) => {
    const key = await dpopKey(alg);
    expect(jwkThumbprint(key.publicJwk as Record<string, unknown>)).toBe(await calculateJwkThumbprint(key.publicJwk));
    const proof = await dpopProof(key, dpopClaims("https://x.example/session/refresh", Date.now()));
    const dot = proof.lastIndexOf(".");
    const check = (input: string) =>
      verifyProofSignature(
        alg,
        key.publicJwk as Record<string, unknown>,
        key.jkt,
        input,
        Buffer.from(proof.slice(dot + 1), "base64url"),
      );
    expect(await check(proof.slice(0, dot))).toBe("valid");
    expect(await check(`${proof.slice(0, dot)}x`)).toBe("invalid");
    // A signature of the wrong length is a wrong signature, not an exception.
    const short = verifyProofSignature(
      alg,
      key.publicJwk as Record<string, unknown>,
      key.jkt,
      proof.slice(0, dot),
      Buffer.alloc(3),
    );
    expect(await short).toBe("invalid");
  },
);

test("a JWK without its required members, or with non-string ones, has no thumbprint", () => {
  expect(jwkThumbprint({ kty: "OKP", crv: "Ed25519" })).toBeNull();
  expect(jwkThumbprint({ kty: "EC", crv: "P-256", x: "a", y: 7 })).toBeNull();
  expect(jwkThumbprint({ kty: "oct", k: "secret" })).toBeNull();
  expect(jwkThumbprint({})).toBeNull();
});
