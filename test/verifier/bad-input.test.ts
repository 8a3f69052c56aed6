/**
 * Bad input to verify(), against the real server's JWKS: not a string, empty, 1 MiB, garbage, and
 * every forgery of the product's own forged-token tests (test/http/access-tokens.test.ts). Each is
 * refused with its code, and no error text holds the token. The 1 MiB token is refused before it
 * is parsed: it names an unknown kid, and no JWKS request follows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { base64url, decodeJwt, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import type { Verifier } from "../../verifier/index.ts";
import { openCoreAt } from "../cli/support";
import { tempDir } from "../support/core";
import { type Pair, type RunningServer, startServer } from "../support/server";
import { AUDIENCE, countingProxy, expectRefused, ISSUER, openSession, Verifiers } from "./support";

const verifiers = new Verifiers();
const dir = tempDir("verifier-bad-input-");
let server: RunningServer;
let proxy: ReturnType<typeof countingProxy>;
let verifier: Verifier;
let alice: Pair;
let bob: Pair;
let jwk: { kid: string; x: string; [k: string]: unknown };
let realKey: { kid: string; alg: string; key: CryptoKey };

beforeAll(async () => {
  server = await startServer(dir);
  proxy = countingProxy(`${server.url}/.well-known/jwks.json`);
  verifier = await verifiers.start({ jwksUrl: proxy.url });
  const api = { api: (await import("../support/server")).client(server.url) };
  alice = await openSession(api, "alice");
  bob = await openSession(api, "bob");
  jwk = ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: (typeof jwk)[] }).keys[0]!;
  // The service's own private key, read from its store like sessionctl does: only the named flaw can fail.
  const core = await openCoreAt(dir);
  try {
    realKey = await core.keys.signingKey();
  } finally {
    await core.close();
  }
}, 60_000);
afterAll(async () => {
  await verifiers.closeAll();
  proxy.stop();
  await server.kill();
  rmSync(dir, { recursive: true, force: true });
});

const claimsFor = (pair: Pair, extra: JWTPayload = {}): JWTPayload => {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: pair.user_id,
    sid: pair.session_id,
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
    ...extra,
  };
};
const signReal = (payload: JWTPayload, header: Record<string, unknown> = {}) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: realKey.alg, kid: realKey.kid, typ: "at+jwt", ...header } as never)
    .sign(realKey.key);
/** A JWS made by hand with the real key, for headers jose refuses to sign (unknown crit, a foreign alg). */
async function signRawReal(header: Record<string, unknown>, payload: JWTPayload, encodePayload = true) {
  const h = base64url.encode(JSON.stringify(header));
  const p = encodePayload ? base64url.encode(JSON.stringify(payload)) : JSON.stringify(payload);
  const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", realKey.key, new TextEncoder().encode(`${h}.${p}`)));
  return `${h}.${p}.${base64url.encode(sig)}`;
}
const withoutUndefined = (payload: JWTPayload) =>
  Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined)) as JWTPayload;

describe("positive controls", () => {
  test("a real token verifies, with the claims the service put in it", async () => {
    const claims = await verifier.verify(alice.access_token);
    expect(claims).toEqual(decodeJwt(alice.access_token) as never);
    expect(claims).toMatchObject({ sub: "alice", sid: alice.session_id, iss: ISSUER, aud: AUDIENCE });
  }, 30_000);
  test("a token made with the real key and correct claims verifies (so each forgery below tests one thing)", async () => {
    expect((await verifier.verify(await signReal(claimsFor(alice)))).sid).toBe(alice.session_id);
  }, 30_000);
  test("exp within the 5 s tolerance is still accepted", async () => {
    const exp = Math.floor(Date.now() / 1000) - 3;
    await verifier.verify(await signReal(claimsFor(alice, { exp })));
  }, 30_000);
});

describe("not a token at all", () => {
  test.each([
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["an object", { token: "x" }],
    ["an array", ["a", "b", "c"]],
    ["bytes", new TextEncoder().encode("a.b.c")],
    ["a String object", new String("a.b.c")],
    ["a function", () => "a.b.c"],
  ])("%s: invalid_token", async (_, input) => {
    await expectRefused(verifier, input, "invalid_token");
  });

  test.each([
    ["empty", ""],
    ["one word", "not-a-jwt-GARBAGE"],
    ["two segments", "abc.def"],
    ["four segments", "a.b.c.d"],
    ["empty segments", ".."],
    ["with the scheme", `Bearer ${"x".repeat(20)}`],
    ["whitespace inside", "abc.d ef.ghi"],
    ["non-ASCII", "ü.ö.ä"],
    ["a NUL byte", "abc.def\u0000.ghi"],
    ["base64url but not JSON", "YWJj.ZGVm.Z2hp"],
    ["a refresh token", "x".repeat(43)],
  ])("%s: invalid_token", async (_, input) => {
    await expectRefused(verifier, input, "invalid_token");
  });

  test("1 MiB: invalid_token before any parsing (its unknown kid causes no JWKS request)", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "EdDSA", kid: "never-seen", typ: "at+jwt" }));
    const huge = `${header}.${"A".repeat(1 << 20)}.${"B".repeat(86)}`;
    const before = proxy.state.requests;
    await expectRefused(verifier, huge, "invalid_token");
    await expectRefused(verifier, "x".repeat(1 << 20), "invalid_token");
    expect(proxy.state.requests).toBe(before);
    // The same header with a normal payload does make the verifier look for the kid: the control.
    await expectRefused(
      verifier,
      `${header}.${base64url.encode(JSON.stringify(claimsFor(alice)))}.${"B".repeat(86)}`,
      "invalid_token",
    );
    expect(proxy.state.requests).toBe(before + 1);
  }, 30_000);
});

describe("forged tokens (the product's forged-token cases)", () => {
  test("alg none, with and without a signature", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt", kid: jwk.kid }));
    const payload = base64url.encode(JSON.stringify(claimsFor(alice)));
    await expectRefused(verifier, `${header}.${payload}.`, "invalid_token");
    await expectRefused(verifier, `${header}.${payload}.${alice.access_token.split(".")[2]}`, "invalid_token");
  }, 30_000);

  test("HS256 keyed with the public key bytes, and with the JWK text", async () => {
    for (const secret of [base64url.decode(jwk.x), new TextEncoder().encode(JSON.stringify(jwk))]) {
      const token = await new SignJWT(claimsFor(alice))
        .setProtectedHeader({ alg: "HS256", kid: jwk.kid, typ: "at+jwt" })
        .sign(secret);
      await expectRefused(verifier, token, "invalid_token");
    }
  }, 30_000);

  test("tampered payload with the original signature", async () => {
    const [h, , s] = alice.access_token.split(".");
    const original = decodeJwt(alice.access_token);
    for (const change of [
      { sub: "bob", sid: bob.session_id },
      { exp: (original.exp as number) + 86_400 },
      { role: "admin" },
    ]) {
      const p = base64url.encode(JSON.stringify({ ...original, ...change }));
      await expectRefused(verifier, `${h}.${p}.${s}`, "invalid_token");
    }
  }, 30_000);

  test("flipped signature bit", async () => {
    const [h, p, s] = alice.access_token.split(".");
    const sig = base64url.decode(s!);
    sig[0]! ^= 1;
    await expectRefused(verifier, `${h}.${p}.${base64url.encode(sig)}`, "invalid_token");
  }, 30_000);

  test("signed by a foreign key: under an unknown kid, under our kid, with no kid", async () => {
    const { privateKey } = await generateKeyPair("EdDSA");
    for (const kid of ["unknown-kid", jwk.kid, undefined]) {
      const token = await new SignJWT(claimsFor(alice))
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", ...(kid ? { kid } : {}) })
        .sign(privateKey);
      await expectRefused(verifier, token, "invalid_token");
    }
  }, 30_000);

  test("jwk and jku headers naming the attacker's key are never followed", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
    const attackerJwk = { ...(await exportJWK(publicKey)), kid: jwk.kid };
    let attackerFetches = 0;
    const attacker = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        attackerFetches++;
        return Response.json({ keys: [attackerJwk] });
      },
    });
    try {
      const jku = `http://127.0.0.1:${attacker.port}/jwks.json`;
      for (const header of [{ jwk: attackerJwk }, { jku }, { jku, kid: jwk.kid }, { x5u: jku }]) {
        const token = await new SignJWT(claimsFor(alice))
          .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: jwk.kid, ...header })
          .sign(privateKey);
        await expectRefused(verifier, token, "invalid_token");
      }
      // Even signed with the real key, a token pointing at a key of its own choosing is refused.
      await expectRefused(verifier, await signReal(claimsFor(alice), { jku }), "invalid_token");
      expect(attackerFetches).toBe(0);
    } finally {
      attacker.stop(true);
    }
  }, 30_000);

  test("crit: an unknown critical header, an empty crit, and the unencoded payload (b64: false)", async () => {
    const header = { alg: "EdDSA", kid: realKey.kid, typ: "at+jwt" };
    // Control: the same hand-made token without crit verifies.
    await verifier.verify(await signRawReal(header, claimsFor(alice)));
    await expectRefused(
      verifier,
      await signRawReal({ ...header, crit: ["exp-check"], "exp-check": 1 }, claimsFor(alice)),
      "invalid_token",
    );
    await expectRefused(verifier, await signRawReal({ ...header, crit: [] }, claimsFor(alice)), "invalid_token");
    await expectRefused(
      verifier,
      await signRawReal({ ...header, crit: ["b64"], b64: false }, claimsFor(alice)),
      "invalid_token",
    );
    await expectRefused(
      verifier,
      await signRawReal({ ...header, crit: ["b64"], b64: false }, claimsFor(alice), false),
      "invalid_token",
    );
  }, 30_000);

  test("the real key with an unknown kid", async () => {
    await expectRefused(verifier, await signReal(claimsFor(alice), { kid: "nope" }), "invalid_token");
  }, 30_000);

  test("the real key with the alg header ES256 and RS256", async () => {
    for (const alg of ["ES256", "RS256"])
      await expectRefused(
        verifier,
        await signRawReal({ alg, kid: realKey.kid, typ: "at+jwt" }, claimsFor(alice)),
        "invalid_token",
      );
  }, 30_000);

  test.each([["JWT"], ["jwt"], ["at+JWT-nope"], ["dpop+jwt"], [undefined]])(
    "real key, typ %p",
    async (typ) => {
      await expectRefused(verifier, await signReal(claimsFor(alice), { typ }), "invalid_token");
    },
    30_000,
  );

  test.each([
    ["wrong iss", { iss: "evil" }],
    ["wrong aud", { aud: "other-api" }],
    ["aud list without ours", { aud: ["other", "more"] }],
    ["missing sub", { sub: undefined }],
    ["missing sid", { sid: undefined }],
    ["empty sid", { sid: "" }],
    ["sid a number", { sid: 7 as never }],
    ["missing jti", { jti: undefined }],
    ["missing iat", { iat: undefined }],
    ["missing exp", { exp: undefined }],
    ["missing iss", { iss: undefined }],
    ["missing aud", { aud: undefined }],
    ["nbf in the future", { nbf: Math.floor(Date.now() / 1000) + 600 }],
  ])("real key, %s: invalid_token", async (_, change) => {
    await expectRefused(
      verifier,
      await signReal(withoutUndefined(claimsFor(alice, change as JWTPayload))),
      "invalid_token",
    );
  });

  test("expired beyond the tolerance: token_expired", async () => {
    const exp = Math.floor(Date.now() / 1000) - 6;
    await expectRefused(verifier, await signReal(claimsFor(alice, { exp, iat: exp - 900 })), "token_expired");
  }, 30_000);
});
