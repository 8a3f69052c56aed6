/**
 * verifyDpopProof against real proofs made by jose with EdDSA, ES256, RS256 and PS256 keys: every
 * bad proof of CONTRACT §10 and RFC 9449 §4.3 gets its exact code (and the reason that proves which
 * check refused it), and no verdict carries any part of the proof. The iat window runs on a fake clock.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { exportJWK } from "jose";
import { DPOP_ALGS, type DpopAlg } from "../../server/core/dpop/algorithms";
import { refreshHtu } from "../../server/core/dpop/htu";
import { DpopNonces } from "../../server/core/dpop/nonces";
import {
  type DpopFailureReason,
  type DpopPolicy,
  type DpopVerdict,
  MAX_JTI_LENGTH,
  MAX_PROOF_LENGTH,
  verifyDpopProof,
} from "../../server/core/dpop/proof";
import { signCompactJws } from "../../server/core/jws";
import { deriveSecrets } from "../../server/core/secrets";
import { FakeClock } from "../support/core";
import { type DpopTestKey, dpopClaims, dpopKey, dpopProof, hs256Jws, rawJws } from "../support/dpop";

const PUBLIC_URL = "https://gw.example.com/auth";
const HTU = "https://gw.example.com/auth/session/refresh";
const MAX_AGE_MS = 60_000;
const SKEW_MS = 5_000;
const policy: DpopPolicy = { htu: refreshHtu(PUBLIC_URL), maxAgeMs: MAX_AGE_MS, clockSkewMs: SKEW_MS, nonces: null };

const clock = new FakeClock();
const keys = {} as Record<DpopAlg, DpopTestKey>;
let other: DpopTestKey;

beforeAll(async () => {
  for (const alg of DPOP_ALGS) keys[alg] = await dpopKey(alg);
  other = await dpopKey("EdDSA");
});

const verify = (proof: string | null | undefined, key: DpopTestKey, extra: Partial<DpopPolicy> = {}, method = "POST") =>
  verifyDpopProof({ proof, jkt: key.jkt, method, now: clock.now() }, { ...policy, ...extra });

/** A good proof of `key` for HTU now, with claims replaced or (undefined) removed. */
const proofOf = (key: DpopTestKey, claims: Record<string, unknown> = {}, options = {}) => {
  const all = Object.fromEntries(
    Object.entries(dpopClaims(HTU, clock.now(), claims)).filter(([, value]) => value !== undefined),
  );
  return dpopProof(key, all, options);
};

/** The verdict is the exact refusal, and nothing of the proof (header, claims, signature, jti) is in it. */
function expectRefused(
  verdict: DpopVerdict,
  error: "invalid_dpop_proof" | "use_dpop_nonce",
  reason: DpopFailureReason,
  proof?: string | null,
) {
  expect(verdict).toEqual({ ok: false, error, reason });
  if (typeof proof === "string" && proof.length > 0) {
    const text = JSON.stringify(verdict);
    for (const part of proof.split(/[.,{}":\s]+/)) if (part.length >= 8) expect(text).not.toContain(part);
  }
}

describe("good proofs", () => {
  for (const alg of DPOP_ALGS) {
    test(`${alg}: accepted, with its jti, iat and how long to remember the jti`, async () => {
      const key = keys[alg];
      const proof = await proofOf(key, { jti: `jti-${alg}` });
      const iat = Math.floor(clock.now() / 1000);
      expect(await verify(proof, key)).toEqual({
        ok: true,
        jti: `jti-${alg}`,
        iat,
        rememberUntil: iat * 1000 + MAX_AGE_MS + 1,
      });
    });
  }

  test("a nonce claim is ignored while nonces are off", async () => {
    const proof = await proofOf(keys.EdDSA, { nonce: "whatever" });
    expect((await verify(proof, keys.EdDSA)).ok).toBe(true);
  });

  test("extra header and claim members are allowed, and a proof just under the size cap is read", async () => {
    const padding = "x".repeat(5000);
    const proof = await proofOf(keys.ES256, { ath: "ignored", extra: padding }, { header: { kid: "k1" } });
    expect(proof.length).toBeLessThan(MAX_PROOF_LENGTH);
    expect((await verify(proof, keys.ES256)).ok).toBe(true);
  });
});

describe("not a compact JWS", () => {
  test("missing: no header, null, empty", async () => {
    expectRefused(await verify(undefined, keys.EdDSA), "invalid_dpop_proof", "missing");
    expectRefused(await verify(null, keys.EdDSA), "invalid_dpop_proof", "missing");
    expectRefused(await verify("", keys.EdDSA), "invalid_dpop_proof", "missing");
  });

  test("garbage, two parts, four parts, spaces, another scheme's token", async () => {
    const good = await proofOf(keys.EdDSA);
    for (const proof of ["not-a-jws", "a.b", `${good}.x`, ` ${good}`, `Bearer ${good}`, "a..c", ".b.c", `${good}=`]) {
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "not_compact_jws", proof);
    }
  });

  test("two DPoP header fields, combined by the HTTP layer as `a, b`", async () => {
    const proof = `${await proofOf(keys.EdDSA)}, ${await proofOf(keys.EdDSA)}`;
    expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "not_compact_jws", proof);
  });

  test("JWS JSON serialization (flattened and general) of a valid signature", async () => {
    const [protectedHeader, payload, signature] = (await proofOf(keys.EdDSA)).split(".");
    const flattened = JSON.stringify({ protected: protectedHeader, payload, signature });
    const general = JSON.stringify({ payload, signatures: [{ protected: protectedHeader, signature }] });
    expectRefused(await verify(flattened, keys.EdDSA), "invalid_dpop_proof", "not_compact_jws", flattened);
    expectRefused(await verify(general, keys.EdDSA), "invalid_dpop_proof", "not_compact_jws", general);
  });

  test("a huge header is refused by its length before anything is parsed", async () => {
    const proof = await proofOf(keys.EdDSA, {}, { header: { padding: "x".repeat(100_000) } });
    expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "too_large", proof);
    // Not even base64url: a parser would have refused it for its form; the cap comes first.
    const junk = "{".repeat(MAX_PROOF_LENGTH + 1);
    expectRefused(await verify(junk, keys.EdDSA), "invalid_dpop_proof", "too_large");
  });

  test("a header that is not base64url JSON of an object", async () => {
    const claims = Buffer.from("{}").toString("base64url");
    for (const header of ["abc", Buffer.from("[1]").toString("base64url"), Buffer.from("null").toString("base64url")]) {
      const proof = `${header}.${claims}.c2ln`;
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "header", proof);
    }
  });
});

describe("header", () => {
  test("typ must be exactly dpop+jwt", async () => {
    for (const typ of [undefined, "jwt", "JWT", "at+jwt", "DPoP+JWT", "application/dpop+jwt", 1]) {
      const proof = await proofOf(keys.EdDSA, {}, { header: { typ } });
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "typ", proof);
    }
  });

  test("alg none, with an empty signature and with a made-up one", async () => {
    const key = keys.EdDSA;
    const header = { alg: "none", typ: "dpop+jwt", jwk: key.publicJwk };
    const claims = dpopClaims(HTU, clock.now());
    const unsigned = rawJws(header, claims, "");
    expectRefused(await verify(unsigned, key), "invalid_dpop_proof", "not_compact_jws", unsigned);
    const fakeSigned = rawJws(header, claims, "c2lnbmF0dXJl");
    expectRefused(await verify(fakeSigned, key), "invalid_dpop_proof", "alg", fakeSigned);
  });

  test("HS256 signed with the public key as the secret, and with any other secret", async () => {
    for (const alg of DPOP_ALGS) {
      const key = keys[alg];
      const header = { alg: "HS256", typ: "dpop+jwt", jwk: key.publicJwk };
      const claims = dpopClaims(HTU, clock.now());
      for (const secret of [JSON.stringify(key.publicJwk), Buffer.from(key.jkt), "secret"]) {
        const proof = hs256Jws(header, claims, secret);
        expectRefused(await verify(proof, key), "invalid_dpop_proof", "alg", proof);
      }
    }
    // With an oct key in the header too: refused for its alg before the key is even looked at.
    const oct = { kty: "oct", k: Buffer.from("secret").toString("base64url") };
    const proof = hs256Jws({ alg: "HS256", typ: "dpop+jwt", jwk: oct }, dpopClaims(HTU, clock.now()), "secret");
    expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "alg", proof);
  });

  test("algorithms outside the four are refused, however close", async () => {
    for (const alg of [
      "HS384",
      "ES384",
      "ES512",
      "RS384",
      "PS512",
      "Ed25519",
      "EdDSA ",
      "eddsa",
      "ES256K",
      "RSA-OAEP",
    ]) {
      const proof = rawJws({ alg, typ: "dpop+jwt", jwk: keys.EdDSA.publicJwk }, dpopClaims(HTU, clock.now()), "c2ln");
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "alg", proof);
    }
    const missing = rawJws({ typ: "dpop+jwt", jwk: keys.EdDSA.publicJwk }, dpopClaims(HTU, clock.now()), "c2ln");
    expectRefused(await verify(missing, keys.EdDSA), "invalid_dpop_proof", "alg", missing);
  });

  test("jwk missing or not an object", async () => {
    for (const jwk of [undefined, "jwk", [keys.EdDSA.publicJwk], null]) {
      const proof = await proofOf(keys.EdDSA, {}, { header: { jwk } });
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "jwk_missing", proof);
    }
  });

  for (const alg of DPOP_ALGS) {
    test(`${alg}: a private jwk in the header is refused (its thumbprint would match)`, async () => {
      const key = keys[alg];
      const proof = await proofOf(key, {}, { header: { jwk: key.privateJwk } });
      expectRefused(await verify(proof, key), "invalid_dpop_proof", "jwk_private", proof);
    });
  }

  test("any single private member is enough to refuse", async () => {
    for (const member of ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]) {
      const jwk = { ...keys.RS256.publicJwk, [member]: "AQAB" };
      const proof = await proofOf(keys.RS256, {}, { header: { jwk } });
      expectRefused(await verify(proof, keys.RS256), "invalid_dpop_proof", "jwk_private", proof);
    }
  });

  test("a key of another type than its alg (alg/key confusion)", async () => {
    const cases: [DpopAlg, DpopTestKey][] = [
      ["ES256", keys.EdDSA],
      ["EdDSA", keys.ES256],
      ["RS256", keys.ES256],
      ["PS256", keys.EdDSA],
      ["ES256", keys.RS256],
    ];
    for (const [alg, key] of cases) {
      const proof = rawJws({ alg, typ: "dpop+jwt", jwk: key.publicJwk }, dpopClaims(HTU, clock.now()), "c2ln");
      expectRefused(await verify(proof, key), "invalid_dpop_proof", "jwk_type", proof);
    }
    // The right kty on another curve.
    const p384 = { ...keys.ES256.publicJwk, crv: "P-384" };
    const proof = rawJws({ alg: "ES256", typ: "dpop+jwt", jwk: p384 }, dpopClaims(HTU, clock.now()), "c2ln");
    expectRefused(await verify(proof, keys.ES256), "invalid_dpop_proof", "jwk_type", proof);
  });

  test("a jwk without the members a thumbprint needs", async () => {
    const { x: _x, ...noX } = keys.EdDSA.publicJwk;
    const proof = await proofOf(keys.EdDSA, {}, { header: { jwk: noX } });
    expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "jwk_invalid", proof);
  });

  test("an RSA key below 2048 bits is refused although the session is bound to it", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const publicJwk = await exportJWK(publicKey);
    const { calculateJwkThumbprint } = await import("jose");
    const jkt = await calculateJwkThumbprint(publicJwk);
    const proof = signCompactJws(
      { alg: "RS256", typ: "dpop+jwt", jwk: publicJwk },
      dpopClaims(HTU, clock.now()),
      createPrivateKey(privateKey.export({ format: "pem", type: "pkcs8" })),
    );
    const verdict = await verifyDpopProof({ proof, jkt, method: "POST", now: clock.now() }, policy);
    expectRefused(verdict, "invalid_dpop_proof", "jws_invalid", proof);
  });

  test("a critical header extension nobody understands", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const publicJwk = await exportJWK(privateKey);
    const { d: _d, ...pub } = publicJwk;
    const { calculateJwkThumbprint } = await import("jose");
    const jkt = await calculateJwkThumbprint(pub);
    const proof = signCompactJws(
      { alg: "EdDSA", typ: "dpop+jwt", jwk: pub, crit: ["x-unknown"], "x-unknown": true },
      dpopClaims(HTU, clock.now()),
      privateKey,
    );
    const verdict = await verifyDpopProof({ proof, jkt, method: "POST", now: clock.now() }, policy);
    expectRefused(verdict, "invalid_dpop_proof", "jws_invalid", proof);
  });
});

describe("key and signature", () => {
  test("wrong key: a valid proof of another key than the session's", async () => {
    for (const alg of DPOP_ALGS) {
      const proof = await proofOf(other);
      expectRefused(await verify(proof, keys[alg]), "invalid_dpop_proof", "thumbprint", proof);
    }
  });

  test("the session's public key in the header, signed by another private key", async () => {
    for (const alg of DPOP_ALGS) {
      const impostor = await dpopKey(alg);
      const proof = await proofOf(keys[alg], {}, { signWith: impostor.privateKey });
      expectRefused(await verify(proof, keys[alg]), "invalid_dpop_proof", "signature", proof);
    }
  });

  test("a changed signature, and claims changed after signing", async () => {
    for (const alg of DPOP_ALGS) {
      const key = keys[alg];
      const [header, payload, signature] = (await proofOf(key)).split(".");
      const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
      const badSignature = `${header}.${payload}.${flipped}`;
      expectRefused(await verify(badSignature, key), "invalid_dpop_proof", "signature", badSignature);
      const otherClaims = Buffer.from(JSON.stringify(dpopClaims(HTU, clock.now()))).toString("base64url");
      const tampered = `${header}.${otherClaims}.${signature}`;
      expectRefused(await verify(tampered, key), "invalid_dpop_proof", "signature", tampered);
    }
  });

  test("a signature of another algorithm's length (ES256 signature truncated)", async () => {
    const [header, payload, signature] = (await proofOf(keys.ES256)).split(".");
    const proof = `${header}.${payload}.${signature.slice(0, 40)}`;
    expectRefused(await verify(proof, keys.ES256), "invalid_dpop_proof", "signature", proof);
  });
});

describe("claims", () => {
  test("a payload that is not a JSON object", async () => {
    for (const raw of ["not json", "[1,2]", "null", "42", '"text"']) {
      const proof = await proofOf(keys.EdDSA, {}, { rawPayload: new TextEncoder().encode(raw) });
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "claims", proof);
    }
    const invalidUtf8 = await proofOf(keys.EdDSA, {}, { rawPayload: Uint8Array.from([0x7b, 0xff, 0x7d]) });
    expectRefused(await verify(invalidUtf8, keys.EdDSA), "invalid_dpop_proof", "claims", invalidUtf8);
  });

  test("jti missing, not a string, empty, too long or not valid Unicode", async () => {
    for (const jti of [undefined, 123, null, ["a"], "", "j".repeat(MAX_JTI_LENGTH + 1), "a\ud800b"]) {
      const proof = await proofOf(keys.EdDSA, { jti });
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "jti", proof);
    }
    const longest = await proofOf(keys.EdDSA, { jti: "j".repeat(MAX_JTI_LENGTH) });
    expect((await verify(longest, keys.EdDSA)).ok).toBe(true);
  });

  test("htm missing, another method, another case", async () => {
    for (const htm of [undefined, "GET", "post", "PUT", 1]) {
      const proof = await proofOf(keys.ES256, { htm });
      expectRefused(await verify(proof, keys.ES256), "invalid_dpop_proof", "htm", proof);
    }
    // The method of the request is what counts: a POST proof on a GET is refused too.
    const proof = await proofOf(keys.ES256);
    expectRefused(await verify(proof, keys.ES256, {}, "GET"), "invalid_dpop_proof", "htm", proof);
  });

  test("htu missing or naming another resource", async () => {
    const wrong = [
      undefined,
      42,
      "",
      "/auth/session/refresh",
      "https://evil.example.com/auth/session/refresh",
      "https://gw.example.com.evil.example/auth/session/refresh",
      "http://gw.example.com/auth/session/refresh",
      "https://gw.example.com:8443/auth/session/refresh",
      "https://gw.example.com/session/refresh",
      "https://gw.example.com/auth/session/revoke",
      "https://gw.example.com/auth/session/refresh/",
      "https://gw.example.com/auth/session/refresh/x",
      "https://gw.example.com/auth/Session/Refresh",
      "https://user:pw@gw.example.com/auth/session/refresh",
      "https://gw.example.com/auth/session/refresh\t",
      "wss://gw.example.com/auth/session/refresh",
    ];
    for (const htu of wrong) {
      const proof = await proofOf(keys.PS256, { htu });
      expectRefused(await verify(proof, keys.PS256), "invalid_dpop_proof", "htu", proof);
    }
  });

  test("htu variants RFC 9449 §4.3 says are the same resource are accepted", async () => {
    const same = [
      "https://gw.example.com/auth/session/refresh?x=1",
      "https://gw.example.com/auth/session/refresh#fragment",
      "https://gw.example.com/auth/session/refresh?x=1#fragment",
      "HTTPS://GW.Example.COM/auth/session/refresh",
      "https://gw.example.com:443/auth/session/refresh",
      "https://gw.example.com/auth/./session/../session/refresh",
      "https://gw.example.com/auth/session/%72efresh",
    ];
    for (const htu of same) {
      const proof = await proofOf(keys.PS256, { htu });
      expect({ htu, verdict: await verify(proof, keys.PS256) }).toMatchObject({ htu, verdict: { ok: true } });
    }
  });

  test("PUBLIC_URL with a default port, another case and a trailing slash gives the same htu", async () => {
    const proof = await proofOf(keys.EdDSA);
    for (const base of ["HTTPS://gw.EXAMPLE.com:443/auth/", "https://gw.example.com/auth"]) {
      expect((await verify(proof, keys.EdDSA, { htu: refreshHtu(base) })).ok).toBe(true);
    }
    // Without the path prefix the same proof names another resource.
    expectRefused(
      await verify(proof, keys.EdDSA, { htu: refreshHtu("https://gw.example.com") }),
      "invalid_dpop_proof",
      "htu",
      proof,
    );
    // http on a non-default port, as the default PUBLIC_URL is.
    const local = await proofOf(keys.EdDSA, { htu: "http://LOCALHOST:3000/session/refresh" });
    expect((await verify(local, keys.EdDSA, { htu: refreshHtu("http://localhost:3000") })).ok).toBe(true);
  });

  test("a policy whose htu is not a URL is a programming error, not a refused proof", async () => {
    const proof = await proofOf(keys.EdDSA);
    expect(verify(proof, keys.EdDSA, { htu: "gw.example.com" })).rejects.toThrow("DpopPolicy.htu");
  });
});

describe("iat window on a fake clock", () => {
  const T = clock.now();

  test("iat missing or not a number", async () => {
    for (const iat of [undefined, "1764460800", null, Number.NaN, [1]]) {
      const proof = await proofOf(keys.EdDSA, { iat });
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "iat", proof);
    }
  });

  test("iat beyond what a double holds (1e999 parses as Infinity) is not a number either", async () => {
    for (const iat of ["1e999", "-1e999"]) {
      const claims = JSON.stringify(dpopClaims(HTU, clock.now())).replace(/"iat":\d+/, `"iat":${iat}`);
      const proof = await proofOf(keys.EdDSA, {}, { rawPayload: new TextEncoder().encode(claims) });
      expectRefused(await verify(proof, keys.EdDSA), "invalid_dpop_proof", "iat", proof);
    }
  });

  test("exactly DPOP_PROOF_MAX_AGE old is accepted, a millisecond older is not", async () => {
    clock.time = T;
    const oldest = await proofOf(keys.ES256, { iat: (T - MAX_AGE_MS) / 1000 });
    expect((await verify(oldest, keys.ES256)).ok).toBe(true);
    const tooOld = await proofOf(keys.ES256, { iat: (T - MAX_AGE_MS - 1) / 1000 });
    expectRefused(await verify(tooOld, keys.ES256), "invalid_dpop_proof", "iat_too_old", tooOld);
  });

  test("a proof ages out on the clock: accepted now, refused once max age has passed", async () => {
    clock.time = T;
    const proof = await proofOf(keys.RS256);
    expect((await verify(proof, keys.RS256)).ok).toBe(true);
    clock.advance(MAX_AGE_MS);
    expect((await verify(proof, keys.RS256)).ok).toBe(true);
    clock.advance(1000);
    expectRefused(await verify(proof, keys.RS256), "invalid_dpop_proof", "iat_too_old", proof);
    clock.time = T;
  });

  test("exactly DPOP_CLOCK_SKEW ahead is accepted, a millisecond further is not", async () => {
    clock.time = T;
    const ahead = await proofOf(keys.ES256, { iat: (T + SKEW_MS) / 1000 });
    expect((await verify(ahead, keys.ES256)).ok).toBe(true);
    const tooFar = await proofOf(keys.ES256, { iat: (T + SKEW_MS + 1) / 1000 });
    expectRefused(await verify(tooFar, keys.ES256), "invalid_dpop_proof", "iat_in_future", tooFar);
    const farFuture = await proofOf(keys.ES256, { iat: T / 1000 + 86_400 });
    expectRefused(await verify(farFuture, keys.ES256), "invalid_dpop_proof", "iat_in_future", farFuture);
  });

  test("the window follows the settings", async () => {
    clock.time = T;
    const proof = await proofOf(keys.EdDSA, { iat: T / 1000 - 30 });
    expect((await verify(proof, keys.EdDSA)).ok).toBe(true);
    expectRefused(await verify(proof, keys.EdDSA, { maxAgeMs: 10_000 }), "invalid_dpop_proof", "iat_too_old", proof);
    const ahead = await proofOf(keys.EdDSA, { iat: T / 1000 + 20 });
    expect((await verify(ahead, keys.EdDSA, { clockSkewMs: 30_000 })).ok).toBe(true);
  });
});

describe("nonces (DPOP_NONCE=on)", () => {
  const STEP_MS = MAX_AGE_MS;
  const secret = (byte: string) => Uint8Array.from(Buffer.from(byte.repeat(64), "hex"));
  const nonces = new DpopNonces(deriveSecrets(secret("a")).dpopNonceKey, STEP_MS);
  const sameKeyInstance = new DpopNonces(deriveSecrets(secret("a")).dpopNonceKey, STEP_MS);
  const otherKeyInstance = new DpopNonces(deriveSecrets(secret("b")).dpopNonceKey, STEP_MS);
  const withNonces = { nonces };

  test("a current nonce is accepted; one issued by another instance with the same SECRET_KEY too", async () => {
    const own = await proofOf(keys.EdDSA, { nonce: nonces.current(clock.now()) });
    expect((await verify(own, keys.EdDSA, withNonces)).ok).toBe(true);
    const fromPeer = await proofOf(keys.EdDSA, { nonce: sameKeyInstance.current(clock.now()) });
    expect((await verify(fromPeer, keys.EdDSA, withNonces)).ok).toBe(true);
  });

  test("missing nonce: use_dpop_nonce", async () => {
    const proof = await proofOf(keys.ES256);
    expectRefused(await verify(proof, keys.ES256, withNonces), "use_dpop_nonce", "nonce_missing", proof);
  });

  test("stale, forged, malformed, or from another SECRET_KEY: use_dpop_nonce", async () => {
    const T = clock.now();
    const bad = [
      nonces.current(T - 2 * STEP_MS),
      otherKeyInstance.current(T),
      "AAAAAAAAAAAAAAAAAAAAAA",
      `${nonces.current(T)}x`,
      nonces.current(T).slice(1),
      "",
      42,
      null,
    ];
    for (const nonce of bad) {
      const proof = await proofOf(keys.ES256, { nonce });
      expectRefused(await verify(proof, keys.ES256, withNonces), "use_dpop_nonce", "nonce_invalid", proof);
    }
  });

  test("a nonce of the previous step is still accepted, two steps back it is not", async () => {
    const T = clock.now();
    const nonce = nonces.current(T);
    clock.advance(STEP_MS);
    const proof = await proofOf(keys.EdDSA, { nonce });
    expect((await verify(proof, keys.EdDSA, withNonces)).ok).toBe(true);
    clock.advance(STEP_MS);
    const later = await proofOf(keys.EdDSA, { nonce });
    expectRefused(await verify(later, keys.EdDSA, withNonces), "use_dpop_nonce", "nonce_invalid", later);
    clock.time = T;
  });

  test("a proof wrong in another way gets invalid_dpop_proof, not a nonce request", async () => {
    const wrongKey = await proofOf(other);
    expectRefused(await verify(wrongKey, keys.EdDSA, withNonces), "invalid_dpop_proof", "thumbprint", wrongKey);
    const tooOld = await proofOf(keys.EdDSA, { iat: clock.now() / 1000 - 3600 });
    expectRefused(await verify(tooOld, keys.EdDSA, withNonces), "invalid_dpop_proof", "iat_too_old", tooOld);
  });
});
