/**
 * Refresh races against the real server: N concurrent refreshes of one token all answer 200 with
 * one identical refresh token, and the session rotates exactly once — in one process, and with the
 * requests split over two processes sharing one SQLite file.
 */
import { afterAll, expect, test } from "bun:test";
import { TempDirs } from "../support/core";
import { client, openDbReadOnly, type Pair, refreshTokenHash, ServerPool } from "../support/server";

const pool = new ServerPool();
const dirs = new TempDirs("session-race-");
const newDir = () => dirs.make();
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

const CONCURRENCY = 20;

/** Fires CONCURRENCY refreshes of the session's token at once, spread round-robin over the urls. */
async function raceOne(urls: string[], userId: string) {
  const created = (await (await client(urls[0]!).create({ user_id: userId })).json()) as Pair;
  const answers = await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) => client(urls[i % urls.length]!).refresh(created.refresh_token)),
  );
  const bodies = await Promise.all(
    answers.map(async (res) => ({ status: res.status, body: (await res.json()) as Pair })),
  );
  return { created, bodies };
}

/** Asserts the contract on the answers and on the committed rows. */
async function expectRotatedOnce(dir: string, url: string, { created, bodies }: Awaited<ReturnType<typeof raceOne>>) {
  expect(bodies.map((b) => b.status)).toEqual(Array(CONCURRENCY).fill(200));
  const refreshTokens = new Set(bodies.map((b) => b.body.refresh_token));
  expect(refreshTokens.size).toBe(1);
  const [next] = [...refreshTokens] as [string];
  expect(next).not.toBe(created.refresh_token);
  expect(new Set(bodies.map((b) => b.body.session_id))).toEqual(new Set([created.session_id]));

  const db = openDbReadOnly(dir);
  try {
    const row = db
      .query(
        "select rotation_count, refresh_token_hash, previous_token_hash, revoked_at from sessions where session_id = ?",
      )
      .get(created.session_id) as {
      rotation_count: number;
      refresh_token_hash: string;
      previous_token_hash: string;
      revoked_at: number | null;
    };
    expect(row).toEqual({
      rotation_count: 1,
      refresh_token_hash: refreshTokenHash(next),
      previous_token_hash: refreshTokenHash(created.refresh_token),
      revoked_at: null,
    });
    const revokedEvents = db
      .query("select count(*) as n from outbox where subject = 'session.revoked' and payload like ?")
      .get(`%${created.session_id}%`) as { n: number };
    expect(revokedEvents.n).toBe(0);
  } finally {
    db.close();
  }

  // The single winner is the current token; the original one is not.
  const api = client(url);
  expect(await (await api.validate(next)).json()).toMatchObject({ active: true, session_id: created.session_id });
  expect(await (await api.validate(created.refresh_token)).json()).toEqual({ active: false });
}

test(`${CONCURRENCY} concurrent refreshes of one token on one server rotate the session exactly once`, async () => {
  const dir = newDir();
  const server = await pool.start(dir);
  for (let round = 0; round < 3; round++) {
    await expectRotatedOnce(dir, server.url, await raceOne([server.url], `race-one-${round}`));
  }
  expect(await server.stop()).toBe(0);
}, 30_000);

test(`${CONCURRENCY} concurrent refreshes split over two server processes on one SQLite file rotate once`, async () => {
  const dir = newDir();
  const first = await pool.start(dir);
  const second = await pool.start(dir);
  const urls = [first.url, second.url];
  // Several sessions raced at the same time, each over both processes.
  const races = await Promise.all(Array.from({ length: 5 }, (_, i) => raceOne(urls, `race-two-${i}`)));
  for (const race of races) await expectRotatedOnce(dir, second.url, race);
  expect(await first.stop()).toBe(0);
  expect(await second.stop()).toBe(0);
}, 30_000);
