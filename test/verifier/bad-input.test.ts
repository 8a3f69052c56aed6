/**
 * Bad input to verify(), against the real server's JWKS: not a string, empty, 1 MiB, and every
 * entry of test/support/forged-tokens.ts (test/http/access-tokens.test.ts sends the same ones to
 * the server). Each is refused with its code, and no error text holds the token. The 1 MiB token
 * is refused before it is parsed: it names an unknown kid, and no JWKS request follows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { base64url, decodeJwt } from "jose";
import type { Verifier } from "../../verifier/index.ts";
import { openCoreAt } from "../cli/support";
import { tempDir } from "../support/core";
import {
  claimsFor,
  FORGED_TOKENS,
  type ForgeryContext,
  handMadeControl,
  signedControl,
  signReal,
  startAttacker,
} from "../support/forged-tokens";
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
let attacker: Awaited<ReturnType<typeof startAttacker>>;
let forgery: ForgeryContext;

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
  attacker = await startAttacker(jwk.kid);
  forgery = {
    signingKey: realKey,
    jwk,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => Math.floor(Date.now() / 1000),
    alice,
    bob,
    attacker: attacker.key,
  };
}, 60_000);
afterAll(async () => {
  attacker?.stop();
  await verifiers.closeAll();
  proxy.stop();
  await server.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe("positive controls", () => {
  test("a real token verifies, with the claims the service put in it", async () => {
    const claims = await verifier.verify(alice.access_token);
    expect(claims).toEqual(decodeJwt(alice.access_token) as never);
    expect(claims).toMatchObject({ sub: "alice", sid: alice.session_id, iss: ISSUER, aud: AUDIENCE });
  }, 30_000);
  test("a token made with the real key and correct claims verifies (so each forgery below tests one thing)", async () => {
    expect((await verifier.verify(await signedControl(forgery))).sid).toBe(alice.session_id);
  }, 30_000);
  test("exp within the 5 s tolerance is still accepted", async () => {
    const exp = Math.floor(Date.now() / 1000) - 3;
    await verifier.verify(await signReal(forgery, claimsFor(forgery, alice, { exp })));
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
    // The strings no Authorization header can carry; the token-shaped ones are in the catalogue below.
    ["empty", ""],
    ["with the scheme", `Bearer ${"x".repeat(20)}`],
    ["a NUL byte", "abc.def\u0000.ghi"],
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
      `${header}.${base64url.encode(JSON.stringify(claimsFor(forgery, alice)))}.${"B".repeat(86)}`,
      "invalid_token",
    );
    expect(proxy.state.requests).toBe(before + 1);
  }, 30_000);
});

describe("forged tokens (test/support/forged-tokens.ts, the server's tests send the same ones)", () => {
  test("control: the hand-made JWS of the catalogue, unflawed, verifies", async () => {
    expect((await verifier.verify(await handMadeControl(forgery))).sid).toBe(alice.session_id);
  }, 30_000);

  test.each(FORGED_TOKENS.map((forged) => [forged.name, forged] as const))(
    "%s",
    async (_, forged) => {
      const token = await forged.build(forgery);
      if (forged.verifier === "accepted") expect((await verifier.verify(token)).sid).toBeString();
      else await expectRefused(verifier, token, forged.verifier);
    },
    30_000,
  );

  test("no jku or x5u of the catalogue was followed", () => {
    expect(attacker.state.fetches).toBe(0);
  });
});
