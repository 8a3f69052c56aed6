/**
 * After a run of every endpoint, good and bad calls alike, no issued token, the service key or
 * SECRET_KEY appears in the server's logs, in any answer that is not the one handing the token out,
 * or in the raw bytes of the database file and its WAL.
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { client, dbFile, type Pair, postJson, ServerPool } from "../support/server";

const pool = new ServerPool();
const dir = tempDir("session-secrets-");
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const secretBytes = randomBytes(32);
const SECRET = secretBytes.toString("hex");
const SERVICE = `svc-${randomBytes(24).toString("base64url")}`;

/** Every value that must never leak, in the forms it could leak in. */
const secrets = new Set<string>([SECRET, secretBytes.toString("base64url"), secretBytes.toString("base64"), SERVICE]);
function issued(pair: Pair) {
  secrets.add(pair.refresh_token);
  secrets.add(pair.access_token);
  secrets.add(pair.access_token.split(".")[2]!); // the signature alone
}

/** Bodies of every answer that is not a 200/201 handing out a token pair. */
const otherBodies: string[] = [];

async function call(request: Promise<Response>): Promise<Response> {
  const res = await request;
  const text = await res.clone().text();
  const handsOutPair = (res.status === 200 || res.status === 201) && text.includes('"refresh_token"');
  if (!handsOutPair) otherBodies.push(`${res.status} ${text}`);
  return res;
}

async function pair(request: Promise<Response>, status = 200): Promise<Pair> {
  const res = await call(request);
  expect(res.status).toBe(status);
  const body = (await res.json()) as Pair;
  issued(body);
  return body;
}

function leaksIn(haystack: Buffer | string): string[] {
  const text = typeof haystack === "string" ? haystack : haystack.toString("latin1");
  const found = [...secrets].filter((secret) => text.includes(secret));
  if (typeof haystack !== "string" && haystack.includes(secretBytes)) found.push("<SECRET_KEY bytes>");
  return found;
}

function storeFiles(): Buffer {
  const parts = ["", "-wal", "-shm"].map((suffix) => dbFile(dir) + suffix).filter((path) => existsSync(path));
  return Buffer.concat(parts.map((path) => readFileSync(path)));
}

test("no token or secret leaks into logs, error bodies or the database file", async () => {
  const server = await pool.start(dir, { SECRET_KEY: SECRET, SERVICE_KEYS: `gateway:${SERVICE}`, LOG_LEVEL: "trace" });
  const api = client(server.url, SERVICE);
  const url = server.url;

  // The good path.
  const a = await pair(
    api.create({ user_id: "leak-a", user_agent: "Firefox", ip: "192.0.2.1", claims: { role: "admin" } }),
    201,
  );
  const b = await pair(api.create({ user_id: "leak-a" }), 201);
  const c = await pair(api.create({ user_id: "leak-c" }), 201);
  const a1 = await pair(api.refresh(a.refresh_token, { user_agent: "Firefox 2" }));
  await pair(api.refresh(a.refresh_token)); // grace replay
  const a2 = await pair(api.refresh(a1.refresh_token));
  await call(api.validate(a2.refresh_token));
  await call(api.validate(a.refresh_token));
  await call(api.me(a2.access_token));
  await call(api.logout(b.access_token, b.session_id));
  await call(api.revoke(c.refresh_token));
  const d = await pair(api.create({ user_id: "leak-a" }), 201);
  await call(api.logoutAll(d.access_token, true));

  // Failing calls, many of them carrying a real token in the wrong place (one after the other).
  const e = await pair(api.create({ user_id: "leak-e" }), 201);
  const bad: (() => Promise<Response>)[] = [
    () => api.refresh(a.refresh_token), // reuse: revokes a's session
    () => api.refresh(`${e.refresh_token}x`),
    () => api.refresh(e.access_token),
    () => api.refresh(""),
    () => api.validate(e.access_token),
    () => client(url, e.refresh_token).validate(e.refresh_token), // refresh token as service key
    () => client(url, e.access_token).create({ user_id: "leak-e" }), // access token as service key
    () =>
      fetch(`${url}/session/validate`, {
        method: "POST",
        headers: { authorization: `Basic ${btoa(`x:${SERVICE}`)}` },
        body: "{}",
      }),
    () => api.me(e.refresh_token),
    () => api.me(`${e.access_token.slice(0, -4)}AAAA`),
    () => api.me(a.access_token), // session revoked for reuse
    () => fetch(`${url}/session/me?access_token=${e.access_token}`),
    () => api.logout(e.access_token, "all-or-nothing"),
    () => api.logout(e.access_token, a.session_id), // another user's session
    () => postJson(`${url}/session/refresh`, { refresh_token: 12, note: e.refresh_token }),
    () => postJson(`${url}/session/refresh?refresh_token=${e.refresh_token}`, {}),
    () => postJson(`${url}/session/revoke`, [e.refresh_token]),
    () =>
      fetch(`${url}/session/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"refresh_token":"${e.refresh_token}"`,
      }),
    () =>
      fetch(`${url}/session/refresh`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ refresh_token: e.refresh_token }),
      }),
    () => postJson(`${url}/session/refresh`, { refresh_token: e.refresh_token, pad: "x".repeat(20_000) }),
    () => api.create({ user_id: e.refresh_token, ip: e.access_token }),
    () => api.create({ user_id: "leak-e", claims: { sid: e.refresh_token } }),
  ];
  const statuses: number[] = [];
  for (const request of bad) statuses.push((await call(request())).status);
  // Each fails for the reason intended (validate answers 200 {"active":false}).
  expect(statuses).toEqual([
    401, 401, 401, 401, 200, 401, 401, 415, 401, 401, 401, 401, 404, 404, 400, 400, 400, 400, 415, 413, 400, 400,
  ]);

  expect(otherBodies.filter((body) => body.startsWith("500"))).toEqual([]);
  // Answers other than the one issuing a pair never carry a token or secret.
  for (const body of otherBodies) expect({ body, leaks: leaksIn(body) }).toEqual({ body, leaks: [] });

  // The store while the server runs (the WAL still holds recent pages) and after a clean stop.
  const whileRunning = storeFiles();
  expect(whileRunning.length).toBeGreaterThan(0);
  expect(leaksIn(whileRunning)).toEqual([]);
  expect(await server.stop()).toBe(0);
  const afterStop = storeFiles();
  expect(leaksIn(afterStop)).toEqual([]);
  // Signing keys are kept encrypted: no private JWK member in clear.
  expect(afterStop.toString("latin1")).not.toContain('"d":"');
  // The logs hold the whole run (trace level), and none of it.
  expect(server.logs()).toContain("session-service ready");
  expect(leaksIn(server.logs())).toEqual([]);
  // The checks are live: the run issued tokens, and the database does hold their hashes.
  expect(secrets.size).toBeGreaterThan(20);
  expect(afterStop.toString("latin1")).toContain("leak-e");
}, 30_000);
