/**
 * User endpoints and their access tokens: Authorization header handling, WWW-Authenticate, and
 * every forged token of test/support/forged-tokens.ts (the verifier's tests send the same ones).
 * A refused token never changes the store.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { importJWK, type JWK, jwtVerify } from "jose";
import type { TokenPair } from "../../server/core/sessions";
import { bearer, openTestApp, SERVICE_KEY, serviceAuth } from "../support/core";
import {
  FORGED_TOKENS,
  type ForgeryContext,
  handMadeControl,
  signedControl,
  startAttacker,
} from "../support/forged-tokens";
import { expectError, json, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
let alice: TokenPair;
let bob: TokenPair;
let jwk: JWK & { kid: string };
let before: string;
let attacker: Awaited<ReturnType<typeof startAttacker>>;
let forgery: ForgeryContext;

beforeAll(async () => {
  t = await openTestApp();
  alice = await openSession(t, { user_id: "alice" });
  bob = await openSession(t, { user_id: "bob" });
  const res = await t.call("GET", "/.well-known/jwks.json");
  jwk = (await json(res)).keys[0];
  attacker = await startAttacker(jwk.kid);
  forgery = {
    signingKey: await t.core.keys.signingKey(),
    jwk: jwk as ForgeryContext["jwk"],
    issuer: "session-service",
    audience: "api",
    now: () => Math.floor(t.clock.now() / 1000),
    alice,
    bob,
    attacker: attacker.key,
  };
});
afterAll(async () => {
  attacker?.stop();
  await t.close();
});
beforeEach(async () => {
  before = await snapshot(t.core);
});

/** The targets: reading and the two destructive calls, which must not have acted. */
const TARGETS: Array<[string, () => string]> = [
  ["GET", () => "/session/me"],
  ["DELETE", () => "/session/all"],
  ["DELETE", () => `/session/${alice.session_id}`],
];

async function refused(
  headers: Record<string, string>,
  challenge: string,
  only?: [string, string],
  submitted: string[] = [],
) {
  for (const [method, target] of only ? [[only[0], () => only[1]] as const] : TARGETS) {
    const res = await t.call(method, target(), { headers });
    await expectError(res, 401, "invalid_token", submitted);
    expect(res.headers.get("www-authenticate")).toBe(challenge);
  }
  expect(await snapshot(t.core)).toBe(before);
}
const INVALID = 'Bearer error="invalid_token"';

describe("the positive controls", () => {
  test("a real token is accepted on every user endpoint", async () => {
    const res = await t.call("GET", "/session/me", { headers: bearer(alice.access_token) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
  test("a token crafted with the real key and correct claims is accepted (so the forgeries below test one thing each)", async () => {
    const res = await t.call("GET", "/session/me", { headers: bearer(await signedControl(forgery)) });
    expect(res.status).toBe(200);
  });
  test("the scheme name is case-insensitive", async () => {
    const res = await t.call("GET", "/session/me", { headers: { authorization: `bearer ${alice.access_token}` } });
    expect(res.status).toBe(200);
  });
});

describe("missing, garbled and other-scheme Authorization", () => {
  test("no header: 401 invalid_token with plain Bearer", () => refused({}, "Bearer"));
  test("Basic: plain Bearer", () => refused({ authorization: "Basic YWxpY2U6c2VjcmV0" }, "Bearer"));
  test("another scheme carrying the real token: plain Bearer", () =>
    refused({ authorization: `Token ${alice.access_token}` }, "Bearer", undefined, [alice.access_token]));
  test("the token without a scheme: plain Bearer", () =>
    refused({ authorization: alice.access_token }, "Bearer", undefined, [alice.access_token]));
  test("Bearer with two tokens", () =>
    refused({ authorization: `Bearer ${alice.access_token} ${alice.access_token}` }, INVALID, undefined, [
      alice.access_token,
    ]));
  test("Bearer with a service key", () =>
    refused({ authorization: `Bearer ${SERVICE_KEY}` }, INVALID, undefined, [SERVICE_KEY]));
  test("Bearer with a refresh token", () =>
    refused(bearer(alice.refresh_token), INVALID, undefined, [alice.refresh_token]));
  test("Bearer without a credential: 401 invalid_token", async () => {
    const res = await t.call("GET", "/session/me", { headers: { authorization: "Bearer" } });
    await expectError(res, 401, "invalid_token");
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
  });
});

describe("tokens are never read from the URL", () => {
  test.each(["access_token", "token", "authorization", "bearer"])(
    "?%s=<real token> is 401 with plain Bearer",
    async (name) => {
      await refused({}, "Bearer", ["GET", `/session/me?${name}=${alice.access_token}`], [alice.access_token]);
      await refused({}, "Bearer", ["DELETE", `/session/all?${name}=${alice.access_token}`], [alice.access_token]);
      await refused(
        {},
        "Bearer",
        ["DELETE", `/session/${alice.session_id}?${name}=${alice.access_token}`],
        [alice.access_token],
      );
    },
  );
});

describe('forged access tokens (test/support/forged-tokens.ts): 401 invalid_token, Bearer error="invalid_token"', () => {
  test("control: the hand-made JWS of the catalogue, unflawed, is accepted", async () => {
    const res = await t.call("GET", "/session/me", { headers: bearer(await handMadeControl(forgery)) });
    expect(res.status).toBe(200);
  });

  test.each(FORGED_TOKENS.map((forged) => [forged.name, forged] as const))("%s", async (_, forged) => {
    const token = await forged.build(forgery);
    if (forged.server === "accepted") {
      // Only the reading endpoint: an accepted token on the destructive ones would end alice's sessions.
      expect((await t.call("GET", "/session/me", { headers: bearer(token) })).status).toBe(200);
      expect(await snapshot(t.core)).toBe(before);
    } else await refused(bearer(token), INVALID, undefined, [token]);
  });

  test("no jku or x5u of the catalogue was followed", () => {
    expect(attacker.state.fetches).toBe(0);
  });

  test("the public key from the JWKS imports and verifies real tokens (sanity of the HS256 case)", async () => {
    const key = await importJWK(jwk, "EdDSA");
    await jwtVerify(alice.access_token, key, { typ: "at+jwt", currentDate: new Date(t.clock.now()) });
  });
});

describe("expiry and ended sessions", () => {
  test("exp is enforced with at most 5 s of leeway", async () => {
    const local = await openTestApp({ ACCESS_TOKEN_TTL: "1m" });
    try {
      const pair = await openSession(local, { user_id: "carol" });
      local.clock.advance(60_000 + 4_000);
      expect((await local.call("GET", "/session/me", { headers: bearer(pair.access_token) })).status).toBe(200);
      local.clock.advance(2_000); // exp + 6 s
      const before = await snapshot(local.core);
      for (const [method, path] of [
        ["GET", "/session/me"],
        ["DELETE", "/session/all"],
        ["DELETE", `/session/${pair.session_id}`],
      ]) {
        const res = await local.call(method, path, { headers: bearer(pair.access_token) });
        await expectError(res, 401, "invalid_token", [pair.access_token]);
        expect(res.headers.get("www-authenticate")).toBe(INVALID);
      }
      expect(await snapshot(local.core)).toBe(before);
    } finally {
      await local.close();
    }
  });

  test("a token whose session was revoked is refused at once", async () => {
    const pair = await openSession(t, { user_id: "dave" });
    expect((await t.call("GET", "/session/me", { headers: bearer(pair.access_token) })).status).toBe(200);
    await t.call("POST", "/session/revoke", { body: { refresh_token: pair.refresh_token } });
    before = await snapshot(t.core);
    await refused(bearer(pair.access_token), INVALID, ["GET", "/session/me"]);
    await refused(bearer(pair.access_token), INVALID, ["DELETE", "/session/all"]);
  });
});

describe("service-key endpoints", () => {
  test.each(["/session", "/session/validate"])("%s with a user access token: 401 invalid_client", async (path) => {
    const res = await t.call("POST", path, {
      body: { user_id: "x", refresh_token: alice.refresh_token },
      headers: bearer(alice.access_token),
    });
    await expectError(res, 401, "invalid_client", [alice.access_token, alice.refresh_token]);
    expect(await snapshot(t.core)).toBe(before);
  });
  test.each([
    ["none", {}],
    ["wrong key", { authorization: "Bearer wrong-service-key-0123456789" }],
    ["Basic", { authorization: `Basic ${btoa(`tests:${SERVICE_KEY}`)}` }],
    ["key in the query", {}],
  ])("%s: 401 invalid_client", async (name, headers) => {
    const query = name === "key in the query" ? `?key=${SERVICE_KEY}&access_token=${SERVICE_KEY}` : "";
    for (const path of ["/session", "/session/validate"]) {
      const res = await t.call("POST", path + query, {
        body: { user_id: "x", refresh_token: alice.refresh_token },
        headers,
      });
      await expectError(res, 401, "invalid_client", [SERVICE_KEY, alice.refresh_token]);
    }
    expect(await snapshot(t.core)).toBe(before);
  });
  test("the service key works (positive control)", async () => {
    const res = await t.call("POST", "/session/validate", {
      body: { refresh_token: alice.refresh_token },
      headers: serviceAuth,
    });
    expect((await json(res)).active).toBe(true);
  });
});
