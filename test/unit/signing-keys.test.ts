/** keyState: which key signs and which are published, as a pure function of the rows and the time. */
import { expect, test } from "bun:test";
import { calculateJwkThumbprint } from "jose";
import { decodeSecretKey } from "../../server/config";
import type { SigningKeyRow } from "../../server/core/ports";
import { deriveSecrets } from "../../server/core/secrets";
import { generateSigningKey, keyState } from "../../server/core/signing-keys";

/** The default JWKS cache time (JWKS_MAX_AGE): a rotated key signs only after it. */
const JWKS_CACHE_MS = 300_000;

import { openTestCore, SECRET_KEY, signingKeyRow } from "../support/core";

const TTL = 900_000;
const row = signingKeyRow;
const kids = (rows: SigningKeyRow[]) => rows.map((r) => r.kid).sort();

test("a single key signs and is published", () => {
  const state = keyState([row("a", 0)], "EdDSA", TTL, 1000);
  expect(state.signer?.kid).toBe("a");
  expect(kids(state.published)).toEqual(["a"]);
});

test("a key published ahead of rotation is listed but does not sign until it activates", () => {
  const rows = [row("a", 0), row("b", 10_000 + JWKS_CACHE_MS, { createdAt: 10_000 })];
  let state = keyState(rows, "EdDSA", TTL, 20_000);
  expect(state.signer?.kid).toBe("a");
  expect(kids(state.published)).toEqual(["a", "b"]);
  state = keyState(rows, "EdDSA", TTL, 10_000 + JWKS_CACHE_MS);
  expect(state.signer?.kid).toBe("b");
  expect(kids(state.published)).toEqual(["a", "b"]);
});

test("the old key stays published until its last token has expired (TTL + 5 s leeway), then leaves", () => {
  const rows = [row("a", 0), row("b", 100_000)];
  expect(kids(keyState(rows, "EdDSA", TTL, 100_000 + TTL + 4_999).published)).toEqual(["a", "b"]);
  expect(kids(keyState(rows, "EdDSA", TTL, 100_000 + TTL + 5_000).published)).toEqual(["b"]);
});

test("a retired key neither signs nor is published", () => {
  const state = keyState([row("a", 0), row("b", 100, { retiredAt: 200 })], "EdDSA", TTL, 1000);
  expect(state.signer?.kid).toBe("a");
  expect(kids(state.published)).toEqual(["a"]);
  expect(keyState([row("a", 0, { retiredAt: 5 })], "EdDSA", TTL, 1000).signer).toBeNull();
});

test("only a key of the configured algorithm signs; others still verify until their tokens expire", () => {
  const rows = [row("ed", 0), row("es", 50_000, { alg: "ES256" })];
  const state = keyState(rows, "ES256", TTL, 60_000);
  expect(state.signer?.kid).toBe("es");
  // The EdDSA key did not stop signing by an ES256 successor in its own algorithm, so it is kept.
  expect(kids(state.published)).toEqual(["ed", "es"]);
  expect(keyState(rows, "RS256", TTL, 60_000).signer).toBeNull();
});

test("the JWKS of an opened core holds public members only and the private key is encrypted at rest", async () => {
  const t = await openTestCore();
  try {
    const { keys } = t.core.keys.jwks();
    expect(keys.length).toBe(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(Object.keys(keys[0]).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
    const [stored] = await t.core.store.signingKeys.listSigningKeys();
    expect(stored.privateKeyEncrypted).not.toContain('"d"');
    expect(() => JSON.parse(stored.privateKeyEncrypted)).toThrow();
  } finally {
    await t.close();
  }
});

test.each(["ES256", "RS256"])("JWT_ALG=%s signs with that algorithm; JWKS without private members", async (alg) => {
  const t = await openTestCore({ JWT_ALG: alg });
  try {
    const pair = await t.core.sessions.create({ userId: "alice" });
    const header = JSON.parse(Buffer.from(pair.access_token.split(".")[0], "base64url").toString());
    expect(header).toMatchObject({ alg, typ: "at+jwt", kid: t.core.keys.jwks().keys[0].kid });
    for (const key of t.core.keys.jwks().keys) {
      for (const member of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(member);
    }
    if (alg === "RS256")
      expect(Buffer.from(t.core.keys.jwks().keys[0].n!, "base64url").length * 8).toBeGreaterThanOrEqual(2048);
    expect((await t.core.sessions.authenticate(pair.access_token)).sessionId).toBe(pair.session_id);
  } finally {
    await t.close();
  }
});

test("a kid never starts with '-' (sessionctl keys retire <kid> would read it as an option), and is the key's thumbprint", async () => {
  const secrets = deriveSecrets(decodeSecretKey(SECRET_KEY)!);
  // One thumbprint in 64 starts with "-": 500 keys hold one with a chance of 1 - (63/64)^500 ≈ 99.96 %.
  const rows = await Promise.all(Array.from({ length: 500 }, () => generateSigningKey("EdDSA", secrets, 0, 0)));
  expect(rows.filter((row) => row.kid.startsWith("-")).map((row) => row.kid)).toEqual([]);
  for (const row of rows.slice(0, 20)) {
    const { kid, alg, use, ...jwk } = JSON.parse(row.publicJwk);
    expect(kid).toBe(row.kid);
    expect(await calculateJwkThumbprint(jwk)).toBe(row.kid);
  }
});
