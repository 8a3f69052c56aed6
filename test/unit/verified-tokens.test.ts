/** The memo of verified access tokens never outlives the token, its key, or its session. */
import { afterEach, expect, test } from "bun:test";
import { generateKeyPair } from "jose";
import { generateSigningKey, retiredKey } from "../../server/core/signing-keys";
import { openTestCore, type TestCore } from "../support/core";

let t: TestCore;
afterEach(() => t?.close());

async function signedIn() {
  t = await openTestCore({ ACCESS_TOKEN_TTL: "60s" });
  const pair = await t.core.sessions.create({ userId: "memo" });
  // First use verifies the signature and remembers the token.
  expect(await t.core.sessions.authenticate(pair.access_token)).toEqual({ userId: "memo", sessionId: pair.session_id });
  return pair;
}

test("a remembered token is refused once it expires (beyond the 5 s leeway)", async () => {
  const pair = await signedIn();
  t.clock.advance(64_000);
  expect(await t.core.sessions.authenticate(pair.access_token)).toMatchObject({ userId: "memo" });
  t.clock.advance(2_000);
  await expect(t.core.sessions.authenticate(pair.access_token)).rejects.toMatchObject({ code: "invalid_token" });
});

test("a remembered token is refused at once when its session is revoked", async () => {
  const pair = await signedIn();
  await t.core.sessions.revokeByRefreshToken(pair.refresh_token);
  await expect(t.core.sessions.authenticate(pair.access_token)).rejects.toMatchObject({ code: "invalid_token" });
});

test("a remembered token is refused once its key is retired", async () => {
  const pair = await signedIn();
  const [old] = await t.core.store.signingKeys.listSigningKeys();
  const now = t.clock.now();
  await t.core.store.signingKeys.insertSigningKey(await generateSigningKey("EdDSA", t.core.secrets, now, now));
  await t.core.store.signingKeys.retireSigningKey(retiredKey(old, now, t.core.secrets.integrityKey));
  await t.core.keys.reload();
  await expect(t.core.sessions.authenticate(pair.access_token)).rejects.toMatchObject({ code: "invalid_token" });
});

test("a tampered copy of a remembered token is not taken for it", async () => {
  const pair = await signedIn();
  const [header, payload, signature] = pair.access_token.split(".");
  const flipped = signature.slice(0, -2) + (signature.at(-2) === "A" ? "B" : "A") + signature.at(-1);
  await expect(t.core.sessions.authenticate([header, payload, flipped].join("."))).rejects.toMatchObject({
    code: "invalid_token",
  });
});

test("a remembered token skips the public-key check: the memo answers, a token never verified does not", async () => {
  const pair = await signedIn();
  const other = await t.core.sessions.create({ userId: "memo" });
  // Swap the published key's public half for another key's: any real verification now fails.
  const [kid] = t.core.keys.list().map((row) => row.kid);
  const stranger = await generateKeyPair("EdDSA");
  const imported = (t.core.keys as unknown as { imported: Map<string, { publicKey: CryptoKey }> }).imported;
  imported.get(kid)!.publicKey = stranger.publicKey as CryptoKey;
  expect(await t.core.sessions.authenticate(pair.access_token)).toMatchObject({ userId: "memo" });
  await expect(t.core.sessions.authenticate(other.access_token)).rejects.toMatchObject({ code: "invalid_token" });
});
