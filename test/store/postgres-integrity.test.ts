/**
 * What a writer of the PostgreSQL database alone can do (CONTRACT §4: the database alone lets no
 * one sign tokens; server/core/integrity.ts). The core runs on a database of this run as the server
 * opens it; the test edits rows with plain SQL behind its back, as an attacker with write access to
 * the database would, and asks the core for tokens and keys.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { SQL } from "bun";
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";
import type { ServiceError } from "../../server/core/errors";
import type { SessionObserver } from "../../server/core/ports";
import { type Core, openCore } from "../../server/open-core";
import { TempDirs, testConfig } from "../support/core";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

setDefaultTimeout(30_000);

let database: TestDatabase;
let attacker: SQL;
let core: Core;
const dirs = new TempDirs();
const tampered: Array<[string, string]> = [];
const observer: SessionObserver = {
  refreshed: () => {},
  committed: () => {},
  tampered: (what, id) => tampered.push([what, id]),
};

beforeAll(async () => {
  database = await createTestDatabase();
  attacker = database.connect();
  core = await openCore(testConfig(dirs.make(), { DATABASE_URL: database.url }), { role: "server", observer });
});
afterAll(async () => {
  await core?.close();
  await attacker?.close();
  await database?.drop();
  dirs.removeAll();
});

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (error: ServiceError) => error.code,
  );

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

test.each([
  ["user_id", `update sessions set user_id = 'ceo' where session_id = $1`],
  ["claims", `update sessions set claims = '{"role":"admin"}' where session_id = $1`],
])("a session row whose %s was edited is never signed for nor vouched for", async (_, edit) => {
  const pair = await core.sessions.create({ userId: "mallory", claims: { role: "member" } });
  await attacker.unsafe(edit, [pair.session_id]);
  expect(await code(core.sessions.refresh({ refreshToken: pair.refresh_token }))).toBe("invalid_grant");
  expect(await core.sessions.validate(pair.refresh_token)).toEqual({ active: false });
  expect(tampered).toContainEqual(["session", pair.session_id]);
});

test("an untouched session beside them still refreshes, with its own claims", async () => {
  const pair = await core.sessions.create({ userId: "alice", claims: { role: "member" } });
  const next = await core.sessions.refresh({ refreshToken: pair.refresh_token });
  expect(claimsOf(next.access_token)).toMatchObject({ sub: "alice", role: "member" });
  expect(tampered.map(([, id]) => id)).not.toContain(pair.session_id);
});

test("a planted signing-key row is never published, signed with, nor trusted to verify", async () => {
  const victim = await core.sessions.create({ userId: "victim" });
  const genuine = decodeProtectedHeader(victim.access_token).kid!;
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  // Activated a moment ago: were it trusted, it would be the newest key and sign every new token.
  const now = Date.now() - 1000;
  await attacker`insert into signing_keys (kid, alg, public_jwk, private_key_encrypted, created_at, activates_at, mac)
                 values (${kid}, 'EdDSA', ${JSON.stringify({ ...jwk, kid, alg: "EdDSA", use: "sig" })}, 'x', ${now}, ${now}, 'forged')`;
  await core.keys.reload();

  expect(core.keys.jwks().keys.map((key) => key.kid)).toEqual([genuine]);
  expect(tampered).toContainEqual(["signing_key", kid]);
  const fresh = await core.sessions.create({ userId: "bob" });
  expect(decodeProtectedHeader(fresh.access_token).kid).toBe(genuine);

  const forged = await new SignJWT({ sid: victim.session_id, role: "admin" })
    .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
    .setIssuer(core.config.jwtIssuer)
    .setAudience(core.config.jwtAudience)
    .setSubject("victim")
    .setIssuedAt()
    .setExpirationTime("10m")
    .setJti(crypto.randomUUID())
    .sign(privateKey);
  expect(await code(core.sessions.authenticate(forged))).toBe("invalid_token");
  // The genuine token of the same session still works.
  expect(await core.sessions.authenticate(victim.access_token)).toEqual({
    userId: "victim",
    sessionId: victim.session_id,
  });
});
