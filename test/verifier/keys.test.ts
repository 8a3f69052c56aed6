/**
 * Keys against a JWKS endpoint of the test's own that counts its requests: supported algorithms
 * only, max-age respected, unknown kids refetched at most once per spacing with concurrent misses
 * sharing one request, the last good keys kept while the endpoint fails, and a start without keys.
 * The timers are shortened through their options (1 s spacing, short start timeout and retries);
 * that their defaults are the contract's 5 s and 10 s is checked on the settings.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createPrivateKey, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { base64url, SignJWT } from "jose";
import { createVerifier, type VerifierEvent } from "../../verifier/index.ts";
import { settingsFrom } from "../../verifier/options.ts";
import { freePort } from "../support/server";
import { claims, expectRefused, jwksServer, makeKey, sign, type TestKey, Verifiers, waitFor } from "./support";

const verifiers = new Verifiers();
const endpoints: Array<{ stop(): void }> = [];
afterEach(async () => {
  await verifiers.closeAll();
  for (const endpoint of endpoints.splice(0)) endpoint.stop();
});
afterAll(() => verifiers.closeAll());

function endpoint(keys: TestKey[], cacheControl?: string | null) {
  const server = jwksServer({ keys: keys.map((k) => k.jwk), cacheControl });
  endpoints.push(server);
  return server;
}

/** A compact JWS signed with node:crypto, for keys jose refuses to make or use (RSA 1024). */
function signRaw(
  header: object,
  payload: object,
  privateKey: ReturnType<typeof createPrivateKey>,
  alg: string,
): string {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  const algorithm = alg === "EdDSA" ? null : "sha256";
  return `${input}.${base64url.encode(nodeSign(algorithm, Buffer.from(input), privateKey))}`;
}

describe("algorithms", () => {
  test("EdDSA, ES256 and RS256 tokens verify, and their claims come back frozen", async () => {
    const keys = [await makeKey("EdDSA"), await makeKey("ES256"), await makeKey("RS256")];
    const jwks = endpoint(keys);
    const verifier = await verifiers.start({ jwksUrl: jwks.url });
    expect(verifier.status()).toMatchObject({ keys: 3, revocations: "disabled", tracked: 0, lagMs: null });
    for (const key of keys) {
      const payload = claims({ role: { name: "admin" } });
      const verified = await verifier.verify(await sign(key, payload));
      expect(verified).toEqual(payload as never);
      expect(Object.isFrozen(verified)).toBe(true);
      expect(Object.isFrozen(verified.role)).toBe(true);
    }
  }, 30_000);

  test("keys of other algorithms, private, encryption or short RSA keys are never used", async () => {
    const good = await makeKey("EdDSA");
    const ps256 = await makeKey("PS256");
    const noAlg = await makeKey("ES256");
    const encryption = await makeKey("EdDSA");
    const { privateKey: weakPrivate, publicKey: weakPublic } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const weakJwk = { ...weakPublic.export({ format: "jwk" }), kid: "weak", alg: "RS256", use: "sig" };
    const hmacSecret = crypto.getRandomValues(new Uint8Array(32));
    const jwks = jwksServer({
      keys: [
        good.jwk,
        ps256.jwk,
        { ...noAlg.jwk, alg: undefined },
        { ...encryption.jwk, use: "enc" },
        weakJwk,
        { kty: "oct", k: base64url.encode(hmacSecret), kid: "hmac", alg: "HS256", use: "sig" },
        { kty: "OKP", crv: "Ed448", x: good.jwk.x, kid: "ed448", alg: "EdDSA" },
        "not a key",
        null,
      ],
    });
    endpoints.push(jwks);
    const verifier = await verifiers.start({ jwksUrl: jwks.url });
    expect(verifier.status().keys).toBe(1);
    await verifier.verify(await sign(good)); // the positive control
    await expectRefused(verifier, await sign(ps256), "invalid_token");
    await expectRefused(verifier, await sign(noAlg), "invalid_token");
    await expectRefused(verifier, await sign(encryption), "invalid_token");
    await expectRefused(
      verifier,
      signRaw({ alg: "RS256", kid: "weak", typ: "at+jwt" }, claims(), weakPrivate, "RS256"),
      "invalid_token",
    );
    const hs = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", kid: "hmac", typ: "at+jwt" })
      .sign(hmacSecret);
    await expectRefused(verifier, hs, "invalid_token");
  }, 30_000);

  test("a token's alg must equal its key's", async () => {
    const ed = await makeKey("EdDSA");
    const es = await makeKey("ES256");
    const jwks = endpoint([ed, es]);
    const verifier = await verifiers.start({ jwksUrl: jwks.url });
    // An Ed25519 signature under an ES256 header, and the ES256 key's kid under an EdDSA header.
    const edPrivate = createPrivateKey({
      key: await crypto.subtle.exportKey("jwk", ed.privateKey),
      format: "jwk",
    } as never);
    await expectRefused(
      verifier,
      signRaw({ alg: "ES256", kid: ed.kid, typ: "at+jwt" }, claims(), edPrivate, "EdDSA"),
      "invalid_token",
    );
    await expectRefused(
      verifier,
      signRaw({ alg: "EdDSA", kid: es.kid, typ: "at+jwt" }, claims(), edPrivate, "EdDSA"),
      "invalid_token",
    );
    await verifier.verify(await sign(ed));
    await verifier.verify(await sign(es));
  }, 30_000);
});

describe("options", () => {
  test("bad options are refused at once, every problem named", async () => {
    const bad = createVerifier({
      jwksUrl: "ftp://keys",
      issuer: "",
      audience: [],
      nats: { servers: "" },
      clockToleranceSeconds: -1,
      failClosedAfterMs: Number.NaN,
      unknownKidSpacingMs: 10,
      keysRetryMaxMs: -1,
    });
    await expect(bad).rejects.toThrow(TypeError);
    const message = await bad.catch((error: Error) => error.message);
    for (const name of [
      "jwksUrl",
      "issuer",
      "audience",
      "nats.servers",
      "clockToleranceSeconds",
      "failClosedAfterMs",
      "unknownKidSpacingMs",
      "keysRetryMaxMs",
    ])
      expect(message).toContain(name);
  });

  test("the timers default to the contract's: one unknown-kid fetch per 5 s, 10 s start, retries up to 30 s", () => {
    const settings = settingsFrom({ jwksUrl: "http://127.0.0.1/jwks", issuer: "i", audience: "a" });
    expect(settings).toMatchObject({ unknownKidSpacingMs: 5_000, startTimeoutMs: 10_000, keysRetryMaxMs: 30_000 });
    // The start timeout cannot be made longer than the contract's 10 s.
    expect(() =>
      settingsFrom({ jwksUrl: "http://127.0.0.1/jwks", issuer: "i", audience: "a", startTimeoutMs: 10_001 }),
    ).toThrow("startTimeoutMs");
  });
});

/** The unknown-kid spacing the tests below use instead of the default 5 s. */
const SPACING_MS = 1_000;

describe("refetching", () => {
  test("1,000 concurrent tokens with an unknown kid make one JWKS request; misses within the spacing make none", async () => {
    const first = await makeKey();
    const jwks = endpoint([first]);
    const times: number[] = [];
    const counting = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async () => {
        times.push(performance.now());
        return fetch(jwks.url);
      },
    });
    endpoints.push({ stop: () => counting.stop(true) });
    const verifier = await verifiers.start({
      jwksUrl: `http://127.0.0.1:${counting.port}/`,
      unknownKidSpacingMs: SPACING_MS,
    });
    expect(times.length).toBe(1);

    // A rotation: the new key is published, and 1,000 tokens of it arrive together.
    const rotated = await makeKey();
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => sign(rotated)));
    jwks.state.keys = [first.jwk, rotated.jwk];
    // The verifier starts its fetch for the unknown kid after this moment (and the request reaches
    // the endpoint later still, by however long this busy process takes to send it).
    const missesFrom = performance.now();
    const results = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(times.length).toBe(2);

    // 1,000 tokens naming a kid that is nowhere, right after: refused at once, from the keys at hand.
    const stranger = await makeKey();
    const forged = await Promise.all(Array.from({ length: 1000 }, () => sign(stranger)));
    const refused = await Promise.allSettled(forged.map((token) => verifier.verify(token)));
    expect(
      refused.every((r) => r.status === "rejected" && (r.reason as { code: string }).code === "invalid_token"),
    ).toBe(true);
    expect(times.length).toBe(2);
    // One look afterwards, a spacing after the last began: a kid published meanwhile is known that
    // soon. (Not measured from times[1], the first fetch's arrival: it may come late by the time the
    // 1,000 verifications kept this process busy. The 2 ms allow for timers' whole milliseconds.)
    await waitFor("the trailing fetch", () => times.length === 3, 15_000);
    expect(times[2]! - missesFrom).toBeGreaterThanOrEqual(SPACING_MS - 2);
    // Known keys never wait for any of this.
    await verifier.verify(await sign(first));
    expect(times.length).toBe(3);
  }, 30_000);

  test("a kid published during the spacing after a miss is found by the trailing fetch", async () => {
    const first = await makeKey();
    const jwks = endpoint([first]);
    const verifier = await verifiers.start({ jwksUrl: jwks.url, unknownKidSpacingMs: SPACING_MS });
    await expectRefused(verifier, await sign(await makeKey()), "invalid_token"); // a miss: one fetch, nothing found
    const late = await makeKey();
    jwks.state.keys = [first.jwk, late.jwk];
    const token = await sign(late);
    await expectRefused(verifier, token, "invalid_token"); // within the spacing: answered from the keys at hand
    await waitFor("the late key", () => verifier.status().keys === 2, 15_000);
    expect((await verifier.verify(token)).sub).toBe("user-1");
  }, 30_000);

  test("Cache-Control max-age is respected: a new key is picked up without a token asking, never sooner", async () => {
    const first = await makeKey();
    const jwks = endpoint([first], "public, max-age=1");
    const times: number[] = [];
    const counting = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async () => {
        times.push(performance.now());
        return fetch(jwks.url);
      },
    });
    endpoints.push({ stop: () => counting.stop(true) });
    const verifier = await verifiers.start({ jwksUrl: `http://127.0.0.1:${counting.port}/` });
    jwks.state.keys = [first.jwk, (await makeKey()).jwk];
    await waitFor("the second key", () => verifier.status().keys === 2, 10_000);
    await waitFor("a third fetch", () => times.length >= 3, 10_000);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
  }, 30_000);
});

describe("a failing JWKS endpoint", () => {
  test("the last good keys are kept through errors and garbage, and tokens of them verify", async () => {
    const key = await makeKey();
    const jwks = endpoint([key], "max-age=1");
    const events: VerifierEvent[] = [];
    const verifier = await verifiers.start({ jwksUrl: jwks.url, onEvent: (e) => events.push(e) });
    const token = await sign(key);
    await verifier.verify(token);
    for (const failing of ["500", "garbage"] as const) {
      jwks.state.failing = failing;
      const before = jwks.state.requests;
      await waitFor(`two failed fetches (${failing})`, () => jwks.state.requests >= before + 2, 15_000);
      expect(verifier.status().keys).toBe(1);
      await verifier.verify(token);
      await verifier.verify(await sign(key)); // a token never seen before, of the same key
    }
    // An empty key set is a failure too, not a reason to forget the keys.
    jwks.state.failing = null;
    jwks.state.keys = [];
    const before = jwks.state.requests;
    await waitFor("an empty JWKS fetched", () => jwks.state.requests >= before + 1, 15_000);
    await verifier.verify(await sign(key));
    expect(events.filter((e) => e.type === "keys_failed").length).toBeGreaterThanOrEqual(4);
  }, 60_000);

  test("a key that leaves the JWKS stops verifying, also a token verified (and remembered) before", async () => {
    const old = await makeKey();
    const next = await makeKey();
    const jwks = endpoint([old, next], "max-age=1");
    const verifier = await verifiers.start({ jwksUrl: jwks.url });
    const token = await sign(old);
    await verifier.verify(token);
    jwks.state.keys = [next.jwk];
    await waitFor("the old key gone", () => verifier.status().keys === 1, 10_000);
    await expectRefused(verifier, token, "invalid_token");
    await verifier.verify(await sign(next));
  }, 30_000);

  test("no key at start: createVerifier resolves after startTimeoutMs, verify is unavailable until the keys load", async () => {
    const key = await makeKey();
    const jwks = endpoint([key]);
    jwks.state.failing = "500";
    const started = performance.now();
    const verifier = await verifiers.start({ jwksUrl: jwks.url, startTimeoutMs: 1_500, keysRetryMaxMs: 500 });
    const tookMs = performance.now() - started;
    expect(tookMs).toBeLessThan(3_500); // 1.5 s, and a slow machine's timer
    expect(tookMs).toBeGreaterThan(1_400); // it did wait for the keys that long
    // Retried meanwhile, with back-off: 250 ms, then 500 ms (the maximum given) each time, never faster.
    expect(jwks.state.requests).toBeGreaterThanOrEqual(3);
    expect(jwks.state.requests).toBeLessThanOrEqual(2 + Math.ceil(tookMs / 500));
    expect(verifier.status().keys).toBe(0);
    const token = await sign(key);
    await expectRefused(verifier, token, "unavailable");
    await expectRefused(verifier, "garbage", "invalid_token"); // what is malformed is still just invalid
    jwks.state.failing = null;
    await waitFor("keys loaded in the background", () => verifier.status().keys === 1, 40_000);
    expect((await verifier.verify(token)).sub).toBe("user-1");
  }, 60_000);

  test("an endpoint that is not even listening: resolves (startTimeoutMs), then loads once it listens", async () => {
    const key = await makeKey();
    const port = await freePort();
    const verifier = await verifiers.start({ jwksUrl: `http://127.0.0.1:${port}/jwks`, startTimeoutMs: 300 });
    await expectRefused(verifier, await sign(key), "unavailable");
    const late = Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch: () => Response.json({ keys: [key.jwk] }),
    });
    endpoints.push({ stop: () => late.stop(true) });
    await waitFor("keys loaded", () => verifier.status().keys === 1, 40_000);
    await verifier.verify(await sign(key));
  }, 60_000);
});
