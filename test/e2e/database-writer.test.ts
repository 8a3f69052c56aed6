/**
 * What a writer of the database alone can do to the running server (issue 12, finding 5;
 * CONTRACT §4: the database alone lets no one sign tokens). The test edits the real server's
 * SQLite file behind its back, as an attacker with write access to the database would, and talks
 * to the server only over HTTP — so it reads the same against any version of the service.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { SERVICE_KEY, tempDir } from "../support/core";
import { client, dbFile, type Pair, type RunningServer, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dir = tempDir();
let server: RunningServer;

beforeAll(async () => {
  server = await pool.start(dir, { SERVICE_KEYS: `tests:${SERVICE_KEY}` });
});
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The attacker's connection: plain SQL on the file the server uses. */
function write(sql: string, ...params: (string | number)[]): void {
  const db = new Database(dbFile(dir), { strict: false });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());

test("editing one's own session row (user_id, claims) and refreshing yields no token", async () => {
  const api = client(server.url);
  const pair = (await (await api.create({ user_id: "mallory", claims: { role: "member" } })).json()) as Pair;
  write(`update sessions set user_id = 'ceo', claims = '{"role":"admin"}' where session_id = ?`, pair.session_id);

  const refreshed = await api.refresh(pair.refresh_token);
  const body = await refreshed.text();
  expect(refreshed.status).toBe(401);
  expect(JSON.parse(body).error).toBe("invalid_grant");
  expect(body).not.toContain("ceo");
  // Nor does introspection vouch for the edited row.
  expect(await (await api.validate(pair.refresh_token)).json()).toEqual({ active: false });
  // The server says why, without the token.
  await waitFor("the integrity warning", () => server.logs().includes("integrity"));
  expect(server.logs()).not.toContain(pair.refresh_token);
});

test("an untouched session next to it still refreshes, with its own claims", async () => {
  const api = client(server.url);
  const pair = (await (await api.create({ user_id: "alice", claims: { role: "member" } })).json()) as Pair;
  const refreshed = await api.refresh(pair.refresh_token);
  expect(refreshed.status).toBe(200);
  const next = (await refreshed.json()) as Pair;
  expect(claimsOf(next.access_token)).toMatchObject({ sub: "alice", role: "member" });
});

test("a planted public-key row is never published nor trusted to verify a forged token", async () => {
  const api = client(server.url);
  const victim = (await (await api.create({ user_id: "victim" })).json()) as Pair;
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const now = Date.now();
  write(
    "insert into signing_keys (kid, alg, public_jwk, private_key_encrypted, created_at, activates_at) values (?, 'EdDSA', ?, 'x', ?, ?)",
    kid,
    JSON.stringify({ ...jwk, kid, alg: "EdDSA", use: "sig" }),
    now,
    now,
  );
  // A token for the victim's live session, signed with the planted key; its unknown kid makes the
  // server re-read its keys at once.
  const forged = await new SignJWT({ sid: victim.session_id, role: "admin" })
    .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
    .setIssuer("session-service")
    .setAudience("api")
    .setSubject("victim")
    .setIssuedAt()
    .setExpirationTime("10m")
    .setJti(crypto.randomUUID())
    .sign(privateKey);
  const me = await api.me(forged);
  expect(me.status).toBe(401);
  expect(((await me.json()) as { error: string }).error).toBe("invalid_token");
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  expect(jwks.keys.map((key) => key.kid)).not.toContain(kid);
  // The genuine token of the same session still works.
  expect((await api.me(victim.access_token)).status).toBe(200);
});
