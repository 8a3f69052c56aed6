/**
 * Automatic signing-key rotation with short intervals, watched by a verifier that caches the JWKS
 * for exactly its max-age (jose createRemoteJWKSet) and never refetches early on an unknown kid:
 * across two rotations not one token fails to verify.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { tempDir } from "../support/core";
import { client, type Pair, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dir = tempDir();
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

test("two automatic rotations, zero verification failures for a caching verifier", async () => {
  const server = await pool.start(dir, {
    KEY_ROTATION_INTERVAL: "3s",
    JWKS_MAX_AGE: "1s",
    ACCESS_TOKEN_TTL: "2s",
    KEY_RELOAD_INTERVAL: "200ms",
  });
  const jwksResponse = await fetch(`${server.url}/.well-known/jwks.json`);
  expect(jwksResponse.headers.get("cache-control")).toBe("public, max-age=1");
  const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`), {
    cacheMaxAge: 1_000,
    cooldownDuration: 60_000, // an unknown kid does not trigger an early refetch within this test
  });
  const api = client(server.url);
  const kids = new Set<string>();
  const failures: string[] = [];
  const deadline = Date.now() + 26_000;
  let verified = 0;
  while (Date.now() < deadline && kids.size < 3) {
    const created = await api.create({ user_id: "rotation" });
    expect(created.status).toBe(201);
    const { access_token } = (await created.json()) as Pair;
    kids.add(decodeProtectedHeader(access_token).kid!);
    try {
      await jwtVerify(access_token, jwks, { issuer: "session-service", audience: "api", typ: "at+jwt" });
      verified++;
    } catch (error) {
      failures.push(String(error));
    }
    await Bun.sleep(100);
  }
  expect(failures).toEqual([]);
  expect(kids.size).toBe(3); // the first key and two rotated ones have all signed
  expect(verified).toBeGreaterThan(20); // tokens of every key, before and after each switch
  // A key that stopped signing leaves the JWKS once its last token has expired (TTL 2 s + 5 s leeway):
  // the first key is gone while the newest is still there.
  const [firstKid] = kids;
  const lastKid = [...kids].at(-1)!;
  const publishedKids = async () =>
    ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
      (key) => key.kid,
    );
  await waitFor("the first key to leave the JWKS", async () => !(await publishedKids()).includes(firstKid!), 15_000);
  expect(await publishedKids()).toContain(lastKid);
  await waitFor("the rotation's log line", () => server.logs().includes("signing key rotated"));
}, 60_000);
