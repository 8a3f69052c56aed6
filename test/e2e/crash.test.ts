/**
 * SIGKILL of the real server: an answered logout stays committed, and a kill in the middle of a
 * burst of refreshes leaves a sound file with no half-rotated session and no lost rotation.
 */

import type { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { TempDirs } from "../support/core";
import { client, openDbReadOnly, type Pair, refreshTokenHash, rotatedToken, ServerPool } from "../support/server";

const pool = new ServerPool();
const dirs = new TempDirs("session-crash-");
const newDir = () => dirs.make();
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

async function open(url: string, userId: string): Promise<Pair> {
  const res = await client(url).create({ user_id: userId });
  expect(res.status).toBe(201);
  return (await res.json()) as Pair;
}

/** The session can no longer be used in any way. */
async function expectRevoked(url: string, pair: Pair) {
  const api = client(url);
  expect((await api.me(pair.access_token)).status).toBe(401);
  const refreshed = await api.refresh(pair.refresh_token);
  expect(refreshed.status).toBe(401);
  expect(((await refreshed.json()) as { error: string }).error).toBe("invalid_grant");
  expect(await (await api.validate(pair.refresh_token)).json()).toEqual({ active: false });
}

function integrityOk(db: Database) {
  expect(db.query("pragma integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
}

describe.each(["FULL", "NORMAL"])("SQLITE_SYNCHRONOUS=%s", (synchronous) => {
  const env = { SQLITE_SYNCHRONOUS: synchronous };

  test("a logout answered 204 (DELETE /session/{id}) survives SIGKILL right after the answer", async () => {
    const dir = newDir();
    let server = await pool.start(dir, env);
    const gone = await open(server.url, "crash-logout");
    const kept = await open(server.url, "crash-logout");
    const res = await client(server.url).logout(gone.access_token, gone.session_id);
    await server.kill(); // as soon as the answer's status line arrived
    expect(res.status).toBe(204);

    server = await pool.start(dir, env);
    await expectRevoked(server.url, gone);
    // The other session of the user was not touched and still works after the restart.
    expect((await client(server.url).me(kept.access_token)).status).toBe(200);
    expect((await client(server.url).refresh(kept.refresh_token)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  }, 30_000);

  test("a logout answered 200 (POST /session/revoke) survives SIGKILL right after the answer", async () => {
    const dir = newDir();
    let server = await pool.start(dir, env);
    const gone = await open(server.url, "crash-revoke");
    const kept = await open(server.url, "crash-revoke");
    const res = await client(server.url).revoke(gone.refresh_token);
    await server.kill();
    expect(res.status).toBe(200);

    server = await pool.start(dir, env);
    await expectRevoked(server.url, gone);
    expect(await (await client(server.url).validate(kept.refresh_token)).json()).toMatchObject({ active: true });
    expect(await server.stop()).toBe(0);
  }, 30_000);
});

/** One client's refresh chain: every token it was handed, in order (tokens[0] from POST /session). */
interface Chain {
  sessionId: string;
  tokens: string[];
  unexpected: number[];
}

/**
 * Refreshes every chain in a loop until the server dies. Now and then a step sends the same token
 * twice at once (a client retrying), and both answers must carry the same new token.
 */
async function burst(url: string, chains: Chain[], onAnswer: () => void) {
  const api = client(url);
  await Promise.all(
    chains.map(async (chain, c) => {
      for (let step = 0; ; step++) {
        const token = chain.tokens.at(-1)!;
        const copies = (step + c) % 4 === 0 ? 2 : 1;
        let answers: { status: number; body: Pair }[];
        try {
          answers = await Promise.all(
            Array.from({ length: copies }, async () => {
              const res = await api.refresh(token);
              const answer = { status: res.status, body: (await res.json()) as Pair };
              onAnswer();
              return answer;
            }),
          );
        } catch {
          return; // the server is gone: an answer not fully received hands the client nothing
        }
        for (const { status } of answers) if (status !== 200) chain.unexpected.push(status);
        const next = new Set(answers.map((a) => a.body.refresh_token));
        if (chain.unexpected.length > 0 || next.size !== 1) {
          chain.unexpected.push(-next.size);
          return;
        }
        chain.tokens.push([...next][0]!);
      }
    }),
  );
}

interface Row {
  session_id: string;
  refresh_token_hash: string;
  previous_token_hash: string | null;
  rotation_nonce: string | null;
  rotation_count: number;
  revoked_at: number | null;
}

/**
 * After the kill: the file is sound, each session has exactly one current token, and that token is
 * either the last one the client got, or the child of it from a rotation whose answer was lost.
 * Returns, per chain, the token the client should use next.
 */
function checkAfterCrash(dir: string, chains: Chain[]): string[] {
  const db = openDbReadOnly(dir);
  try {
    integrityOk(db);
    expect(
      db.query("select refresh_token_hash from sessions group by refresh_token_hash having count(*) > 1").all(),
    ).toEqual([]);
    const rowOf = db.query("select * from sessions where session_id = ?");
    return chains.map((chain) => {
      expect(chain.unexpected).toEqual([]);
      const row = rowOf.get(chain.sessionId) as Row;
      expect(row.revoked_at).toBeNull();
      const last = chain.tokens.at(-1)!;
      const answered = chain.tokens.length - 1; // rotations the client saw answered
      // Every token the client has replaced is of an older generation: the count of rotations is whole.
      expect(row.rotation_count).toBeGreaterThanOrEqual(answered);
      if (row.refresh_token_hash === refreshTokenHash(last)) {
        expect(row.rotation_count).toBe(answered);
        return last;
      }
      // The one rotation that committed while its answer was lost: whole, never half.
      expect(row.previous_token_hash).toBe(refreshTokenHash(last));
      const child = rotatedToken(last, row.rotation_nonce!);
      expect(row.refresh_token_hash).toBe(refreshTokenHash(child));
      expect(row.rotation_count).toBe(answered + 1);
      return child;
    });
  } finally {
    db.close();
  }
}

test("SIGKILL during a burst of concurrent refresh chains leaves no half-rotated session", async () => {
  const dir = newDir();
  // A grace window long enough to cover the restart, so a lost answer can be retried.
  const env = { REFRESH_REUSE_GRACE: "2m" };
  let server = await pool.start(dir, env);
  const chains: Chain[] = [];
  for (let i = 0; i < 40; i++) {
    const pair = await open(server.url, `burst-${i % 10}`);
    chains.push({ sessionId: pair.session_id, tokens: [pair.refresh_token], unexpected: [] });
  }

  for (let round = 0; round < 3; round++) {
    let answered = 0;
    let killed: Promise<void> | null = null;
    const target = 150 + round * 97;
    await burst(server.url, chains, () => {
      if (++answered === target) killed = server.kill();
    });
    expect(killed).not.toBeNull();
    await killed;

    const expected = checkAfterCrash(dir, chains);
    server = await pool.start(dir, env);
    const api = client(server.url);
    // The last token each client holds still works: a rotation, or the grace replay of a lost answer.
    for (const [i, chain] of chains.entries()) {
      const res = await api.refresh(chain.tokens.at(-1)!);
      expect(res.status).toBe(200);
      const pair = (await res.json()) as Pair;
      if (expected[i] !== chain.tokens.at(-1)) expect(pair.refresh_token).toBe(expected[i]!);
      chain.tokens.push(pair.refresh_token);
      expect(await (await api.validate(pair.refresh_token)).json()).toMatchObject({
        active: true,
        session_id: chain.sessionId,
      });
    }
  }

  // An old token is still recognised as reuse after the crashes, and revokes only its session.
  const api = client(server.url);
  expect((await api.refresh(chains[0]!.tokens[0]!)).status).toBe(401);
  expect(await (await api.validate(chains[0]!.tokens.at(-1)!)).json()).toEqual({ active: false });
  expect(await (await api.validate(chains[1]!.tokens.at(-1)!)).json()).toMatchObject({ active: true });
  // The service keeps working on that file.
  const fresh = await open(server.url, "after-crash");
  expect((await api.me(fresh.access_token)).status).toBe(200);
  expect(await server.stop()).toBe(0);

  const db = openDbReadOnly(dir);
  try {
    integrityOk(db);
  } finally {
    db.close();
  }
}, 90_000);
