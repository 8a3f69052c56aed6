/**
 * sessionctl while the real server runs on the same SQLite file: revocations, clients and keys
 * written by the CLI take effect in the running server (at once, or within 10 s for keys, which
 * it reloads every 5 s), and the CLI never waits on the server's write lock for long.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { SERVICE_KEY, tempDir } from "../support/core";
import { postJson, type RunningServer, startServer } from "../support/server";
import { waitFor } from "../support/wait";
import { outboxEvents, sessionctl, sessionctlJson } from "./support";

const WITHIN_10_S = 10_000;

let dir: string;
let server: RunningServer;
beforeAll(async () => {
  dir = tempDir("sessionctl-live-");
  // Keys reloaded every 500 ms rather than 5 s: the "within 10 s" below is proven without waiting it out.
  server = await startServer(dir, { KEY_RELOAD_INTERVAL: "500ms" });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Pair {
  session_id: string;
  access_token: string;
  refresh_token: string;
}

async function openSession(userId: string, serviceKey = SERVICE_KEY): Promise<Pair> {
  const response = await postJson(
    `${server.url}/session`,
    { user_id: userId },
    { authorization: `Bearer ${serviceKey}` },
  );
  expect(response.status).toBe(201);
  return (await response.json()) as Pair;
}

const me = (accessToken: string) =>
  fetch(`${server.url}/session/me`, { headers: { authorization: `Bearer ${accessToken}` } });
const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString()).kid as string;
const jwksKids = async () =>
  ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map(
    (k) => k.kid,
  );

describe("revoke", () => {
  test("the server refuses the session's access token at once and the outbox has the admin event", async () => {
    const pair = await openSession("live-alice");
    expect((await me(pair.access_token)).status).toBe(200);

    const result = await sessionctl(dir, ["revoke", pair.session_id, "--reason", "incident 7"]);
    expect(result.code).toBe(0);

    // No wait: the server checks the session on every request.
    const refused = await me(pair.access_token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: "invalid_token" });
    const refresh = await postJson(`${server.url}/session/refresh`, { refresh_token: pair.refresh_token });
    expect(refresh.status).toBe(401);

    const revoked = outboxEvents(dir).filter(
      (e) => e.subject === "session.revoked" && e.event.subject === pair.session_id,
    );
    expect(revoked).toHaveLength(1);
    expect(revoked[0].event.data).toMatchObject({
      session_id: pair.session_id,
      user_id: "live-alice",
      reason: "admin",
    });
    expect(result.stdout).not.toContain(pair.refresh_token);
  });

  test("--user ends every session of the user in the running server", async () => {
    const first = await openSession("live-bob");
    const second = await openSession("live-bob");
    const result = await sessionctl(dir, ["revoke", "--user", "live-bob"]);
    expect(result.stdout).toBe("Revoked 2 active sessions of user live-bob (reason admin).\n");
    expect((await me(first.access_token)).status).toBe(401);
    expect((await me(second.access_token)).status).toBe(401);
  });
});

describe("clients", () => {
  test("a key printed by clients add is accepted at once; after clients remove it is refused at once", async () => {
    const added = await sessionctlJson<{ service_key: string }>(dir, ["clients", "add", "live-gateway"]);
    const accepted = await postJson(
      `${server.url}/session`,
      { user_id: "via-gateway" },
      { authorization: `Bearer ${added.service_key}` },
    );
    expect(accepted.status).toBe(201);

    expect((await sessionctl(dir, ["clients", "remove", "live-gateway"])).code).toBe(0);
    const refused = await postJson(
      `${server.url}/session`,
      { user_id: "via-gateway" },
      { authorization: `Bearer ${added.service_key}` },
    );
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: "invalid_client" });
  });
});

describe("keys", () => {
  let firstKid: string;
  let oldToken: Pair;

  test("rotate: the new key is in the server's JWKS within 10 s, while the old key keeps signing", async () => {
    oldToken = await openSession("live-carol");
    firstKid = kidOf(oldToken.access_token);

    const result = await sessionctl(dir, ["keys", "rotate"]);
    expect(result.code).toBe(0);
    const kid = result.stdout.match(/signing key (\S+):/)![1];
    await waitFor("new kid in the JWKS", async () => (await jwksKids()).includes(kid), WITHIN_10_S);
    // It signs only after the JWKS cache time, so verifiers have it before any token uses it.
    expect(kidOf((await openSession("live-carol")).access_token)).toBe(firstKid);
  }, 20_000);

  test("rotate --now: the server signs with the new key within 10 s; tokens of the old key still verify", async () => {
    const result = await sessionctl(dir, ["keys", "rotate", "--now"]);
    expect(result.code).toBe(0);
    const kid = result.stdout.match(/signing key (\S+):/)![1];
    await waitFor(
      "new tokens signed by the new key",
      async () => kidOf((await openSession("live-dave")).access_token) === kid,
      WITHIN_10_S,
    );
    expect((await me(oldToken.access_token)).status).toBe(200);
    expect(await jwksKids()).toContain(firstKid);
  }, 20_000);

  test("retire refuses the old key while its tokens may live; --force makes the server refuse them within 10 s", async () => {
    const refused = await sessionctl(dir, ["keys", "retire", firstKid]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("may still be alive");
    expect((await me(oldToken.access_token)).status).toBe(200);

    const forced = await sessionctl(dir, ["keys", "retire", firstKid, "--force"]);
    expect(forced.code).toBe(0);
    await waitFor("old token refused", async () => (await me(oldToken.access_token)).status === 401, WITHIN_10_S);
    expect(await jwksKids()).not.toContain(firstKid);
  }, 20_000);
});

test("list, stats and purge work beside the running server, which keeps answering", async () => {
  const list = await sessionctlJson<any[]>(dir, ["list", "--user", "live-alice"]);
  expect(list[0]).toMatchObject({ status: "revoked", revoke_reason: "admin" });
  const stats = await sessionctlJson(dir, ["stats"]);
  expect(stats.sessions.revoked).toBeGreaterThanOrEqual(3);

  const purging = sessionctl(dir, ["purge", "--older-than", "0s", "--batch-size", "1"]);
  // The server keeps taking writes while purge runs in small transactions.
  expect((await openSession("during-purge")).session_id).toBeTruthy();
  const result = await purging;
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^Deleted [3-9]\d* ended sessions? and 0 relayed events/);
  expect((await sessionctlJson<any[]>(dir, ["list", "--status", "revoked"])).length).toBe(0);
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
});
