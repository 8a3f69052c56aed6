/**
 * DPoP-bound sessions (CONTRACT §10) end to end: real proofs made by jose, two server processes
 * on one store (SQLite file, and a PostgreSQL database), behind a PUBLIC_URL with a path prefix as
 * a gateway would have it. Every bad proof of §10 and RFC 9449 §4.3 is refused with its code and
 * headers, changes nothing, is never echoed and never a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore, type StoreSettings } from "../../db/open-store";
import type { SessionRow, SessionStore } from "../../server/core/ports";
import { TempDirs } from "../support/core";
import { type DpopTestKey, dpopClaims, dpopKey, dpopProof, hs256Jws, rawJws } from "../support/dpop";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { client, type Pair, postJson, type RunningServer, ServerPool } from "../support/server";

const PUBLIC_URL = "https://gw.example/auth/";
const HTU = "https://gw.example/auth/session/refresh";

const pool = new ServerPool();
const dirs = new TempDirs("dpop-e2e-");
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

type Refresh = (refreshToken: string, proof?: string) => Promise<Response>;
const refresher =
  (server: RunningServer): Refresh =>
  (refresh_token, proof) =>
    postJson(`${server.url}/session/refresh`, { refresh_token }, proof === undefined ? {} : { dpop: proof });

async function bound(server: RunningServer, key: DpopTestKey): Promise<Pair & { refresh_token_bound?: boolean }> {
  const res = await client(server.url).create({ user_id: `u-${crypto.randomUUID()}`, dpop_jkt: key.jkt });
  expect(res.status).toBe(201);
  return (await res.json()) as Pair & { refresh_token_bound?: boolean };
}

/** What a refused refresh must leave as it was: the session row and the event count. */
async function state(store: SessionStore, sessionId: string): Promise<[SessionRow | null, number]> {
  return [await store.sessions.findSession(sessionId), (await store.outbox.pendingEvents(100_000)).length];
}

async function expectRefused(res: Response, code: string, proof?: string): Promise<void> {
  const text = await res.text();
  expect(res.status).toBe(401);
  expect(JSON.parse(text).error).toBe(code);
  expect(res.headers.get("www-authenticate")).toStartWith(`DPoP error="${code}"`);
  if (proof && proof.length > 8) {
    for (const part of proof.split(".")) if (part.length > 8) expect(text).not.toContain(part);
  }
}

function suite(name: string, settings: () => Promise<{ env: Record<string, string>; store: StoreSettings }>) {
  describe(`DPoP on ${name}`, () => {
    let a: RunningServer;
    let b: RunningServer;
    let store: SessionStore;
    let key: DpopTestKey;
    beforeAll(async () => {
      const { env, store: storeSettings } = await settings();
      const dir = dirs.make();
      a = await pool.start(dir, { ...env, PUBLIC_URL });
      b = await pool.start(dir, { ...env, PUBLIC_URL });
      store = await openStore(storeSettings, { readOnly: true });
      key = await dpopKey("EdDSA");
    });
    afterAll(() => store?.close());

    test("a good proof rotates; bound shows in the answer, validate and /session/me", async () => {
      const pair = await bound(a, key);
      expect(pair.refresh_token_bound).toBe(true);
      const res = await refresher(a)(pair.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now())));
      expect(res.status).toBe(200);
      const next = (await res.json()) as Pair & { refresh_token_bound?: boolean };
      expect(next.refresh_token_bound).toBe(true);
      expect(await (await client(a.url).validate(next.refresh_token)).json()).toMatchObject({
        active: true,
        bound: true,
      });
      const me = (await (await client(b.url).me(next.access_token)).json()) as { sessions: Array<{ bound?: boolean }> };
      expect(me.sessions[0].bound).toBe(true);
    });

    // Each makes a proof that must be refused with invalid_dpop_proof.
    const badProofs: Array<[string, (key: DpopTestKey) => Promise<string | undefined>]> = [
      ["no proof at all", async () => undefined],
      ["a proof of another key", async () => dpopProof(await dpopKey("EdDSA"), dpopClaims(HTU, Date.now()))],
      ["htm GET", async (k) => dpopProof(k, dpopClaims(HTU, Date.now(), { htm: "GET" }))],
      [
        "htu of another host",
        async (k) => dpopProof(k, dpopClaims(HTU.replace("gw.example", "evil.example"), Date.now())),
      ],
      [
        "htu without the path prefix",
        async (k) => dpopProof(k, dpopClaims("https://gw.example/session/refresh", Date.now())),
      ],
      ["iat 61 s old", async (k) => dpopProof(k, dpopClaims(HTU, Date.now() - 61_000))],
      ["iat 10 s ahead", async (k) => dpopProof(k, dpopClaims(HTU, Date.now() + 10_000))],
      [
        "alg none",
        async (k) => `${rawJws({ alg: "none", typ: "dpop+jwt", jwk: k.publicJwk }, dpopClaims(HTU, Date.now()), "")}`,
      ],
      [
        "HS256 keyed with the public key",
        async (k) =>
          hs256Jws(
            { alg: "HS256", typ: "dpop+jwt", jwk: k.publicJwk },
            dpopClaims(HTU, Date.now()),
            JSON.stringify(k.publicJwk),
          ),
      ],
      [
        "a private jwk in the header",
        async (k) => dpopProof(k, dpopClaims(HTU, Date.now()), { header: { jwk: k.privateJwk } }),
      ],
      ["typ jwt", async (k) => dpopProof(k, dpopClaims(HTU, Date.now()), { header: { typ: "jwt" } })],
      [
        "a bad signature",
        async (k) => dpopProof(k, dpopClaims(HTU, Date.now()), { signWith: (await dpopKey("EdDSA")).privateKey }),
      ],
      ["not a JWS", async () => "not-a-jws"],
      ["a huge header", async (k) => dpopProof(k, dpopClaims(HTU, Date.now()), { header: { pad: "x".repeat(8000) } })],
    ];
    test.each(badProofs)("%s: 401 invalid_dpop_proof, nothing changes", async (_, make) => {
      const pair = await bound(a, key);
      const before = await state(store, pair.session_id);
      const proof = await make(key);
      await expectRefused(await refresher(a)(pair.refresh_token, proof), "invalid_dpop_proof", proof);
      expect(await state(store, pair.session_id)).toEqual(before);
      // The token is still good with a good proof.
      expect((await refresher(b)(pair.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now())))).status).toBe(
        200,
      );
    });

    test("htu compared as RFC 9449 says: query and fragment ignored, scheme and host case, default port", async () => {
      for (const htu of [
        `${HTU}?x=1#f`,
        "HTTPS://GW.EXAMPLE/auth/session/refresh",
        "https://gw.example:443/auth/session/refresh",
      ]) {
        const pair = await bound(a, key);
        expect((await refresher(a)(pair.refresh_token, await dpopProof(key, dpopClaims(htu, Date.now())))).status).toBe(
          200,
        );
      }
    });

    test("a proof's jti is used once: replayed on the same instance and on the other, even inside the grace window", async () => {
      const pair = await bound(a, key);
      const proof = await dpopProof(key, dpopClaims(HTU, Date.now()));
      expect((await refresher(a)(pair.refresh_token, proof)).status).toBe(200);
      const before = await state(store, pair.session_id);
      await expectRefused(await refresher(a)(pair.refresh_token, proof), "invalid_dpop_proof");
      await expectRefused(await refresher(b)(pair.refresh_token, proof), "invalid_dpop_proof");
      expect(await state(store, pair.session_id)).toEqual(before);
    });

    test("N concurrent refreshes with N fresh proofs: one rotation, one identical refresh token", async () => {
      const pair = await bound(a, key);
      const proofs = await Promise.all(Array.from({ length: 10 }, () => dpopProof(key, dpopClaims(HTU, Date.now()))));
      const answers = await Promise.all(proofs.map((proof, i) => refresher(i % 2 ? a : b)(pair.refresh_token, proof)));
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
      const tokens = await Promise.all(answers.map(async (r) => ((await r.json()) as Pair).refresh_token));
      expect(new Set(tokens).size).toBe(1);
      expect((await store.sessions.findSession(pair.session_id))!.rotationCount).toBe(1);
    });

    test("an older token without a valid proof revokes nothing; with one it is reuse", async () => {
      const pair = await bound(a, key);
      const second = (await (
        await refresher(a)(pair.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now())))
      ).json()) as Pair;
      await refresher(a)(second.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now())));
      await expectRefused(await refresher(b)(pair.refresh_token), "invalid_dpop_proof");
      expect((await store.sessions.findSession(pair.session_id))!.revokedAt).toBeNull();
      const reuse = await refresher(b)(pair.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now())));
      expect(reuse.status).toBe(401);
      expect(((await reuse.json()) as { error: string }).error).toBe("invalid_grant");
      expect((await store.sessions.findSession(pair.session_id))!.revokeReason).toBe("refresh_token_reuse");
    });

    test("unknown or revoked tokens get the uniform invalid_grant whatever the proof; unbound sessions ignore proofs", async () => {
      const pair = await bound(a, key);
      expect((await client(a.url).revoke(pair.refresh_token)).status).toBe(200);
      const revoked = await refresher(a)(pair.refresh_token, "garbage");
      expect(revoked.status).toBe(401);
      expect(((await revoked.json()) as { error: string }).error).toBe("invalid_grant");
      const unknown = await refresher(a)("x".repeat(94), await dpopProof(key, dpopClaims(HTU, Date.now())));
      expect(((await unknown.json()) as { error: string }).error).toBe("invalid_grant");

      const plain = (await (await client(a.url).create({ user_id: "plain" })).json()) as Pair;
      expect((await refresher(a)(plain.refresh_token, "garbage")).status).toBe(200);
      // POST /session/revoke needs no proof.
      const other = await bound(a, key);
      expect((await client(b.url).revoke(other.refresh_token)).status).toBe(200);
      expect((await store.sessions.findSession(other.session_id))!.revokeReason).toBe("logout");
    });

    test("no server error anywhere in the logs", () => {
      for (const server of [a, b]) expect(server.logs()).not.toContain("unhandled error");
    });
  });
}

suite("SQLite (two processes on one file)", async () => {
  const dir = dirs.make();
  const path = join(dir, "sessions.db");
  return {
    env: { DATABASE_URL: `sqlite:${path}` },
    store: { databaseUrl: `sqlite:${path}`, sqliteSynchronous: "FULL", sqliteBusyTimeoutMs: 5000 },
  };
});

let database: TestDatabase | null = null;
afterAll(async () => {
  await database?.drop();
});
suite("PostgreSQL (two instances)", async () => {
  database = await createTestDatabase();
  return {
    env: { DATABASE_URL: database.url },
    store: { databaseUrl: database.url, sqliteSynchronous: "FULL", sqliteBusyTimeoutMs: 5000 },
  };
});

describe("DPOP_NONCE=on across two instances", () => {
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    const dir = dirs.make();
    a = await pool.start(dir, { PUBLIC_URL, DPOP_NONCE: "on" });
    b = await pool.start(dir, { PUBLIC_URL, DPOP_NONCE: "on" });
  });

  test("a proof without the nonce: use_dpop_nonce with DPoP-Nonce; one instance's nonce works at the other", async () => {
    const key = await dpopKey("ES256");
    const pair = await bound(a, key);
    const first = await refresher(a)(pair.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now())));
    await expectRefused(first, "use_dpop_nonce");
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await refresher(b)(pair.refresh_token, await dpopProof(key, dpopClaims(HTU, Date.now(), { nonce })));
    expect(second.status).toBe(200);
    expect(second.headers.get("dpop-nonce")).toMatch(/^[A-Za-z0-9_-]+$/);
    // Every answer of /session/refresh carries one, a refusal of another kind included.
    const forged = await refresher(b)(
      pair.refresh_token,
      await dpopProof(key, dpopClaims(HTU, Date.now(), { nonce: "forged" })),
    );
    await expectRefused(forged, "use_dpop_nonce");
    expect(forged.headers.get("dpop-nonce")).toBeTruthy();
    const garbage = await refresher(a)("garbage");
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get("dpop-nonce")).toBeTruthy();
  });
});
