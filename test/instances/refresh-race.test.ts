/**
 * Two instances on one PostgreSQL database: 20 concurrent refreshes of one token, 10 on each
 * instance and fired together, rotate the session exactly once (checked in the database) and all
 * answer 200 with one identical refresh token.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { client, type Pair, refreshTokenHash } from "../support/server";
import { type Cluster, openSession, startCluster } from "./cluster";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(() => cluster?.close());

const CONCURRENCY = 20;
const SESSIONS = 5;

/** Refreshes `pair`'s token CONCURRENCY times at once, alternating A and B, and reads the answers. */
async function race(pair: Pair) {
  const urls = [cluster.a.url, cluster.b.url];
  const requests = Array.from({ length: CONCURRENCY }, (_, i) => client(urls[i % 2]!).refresh(pair.refresh_token));
  return Promise.all(
    (await Promise.all(requests)).map(async (res) => ({ status: res.status, body: (await res.json()) as Pair })),
  );
}

test(`${CONCURRENCY} concurrent refreshes split over two instances rotate once and answer alike`, async () => {
  // Sessions opened on either instance; every race runs at the same time as the others.
  const pairs = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) => openSession(i % 2 ? cluster.b.url : cluster.a.url, `race-user-${i}`)),
  );
  const results = await Promise.all(pairs.map(race));

  for (const [i, pair] of pairs.entries()) {
    const answers = results[i]!;
    expect(answers.map((a) => a.status)).toEqual(Array(CONCURRENCY).fill(200));
    expect(new Set(answers.map((a) => a.body.session_id))).toEqual(new Set([pair.session_id]));
    const tokens = new Set(answers.map((a) => a.body.refresh_token));
    expect(tokens.size).toBe(1);
    const [next] = [...tokens] as [string];
    expect(next).not.toBe(pair.refresh_token);

    const [row] = await cluster.sql`
      select rotation_count, refresh_token_hash, previous_token_hash, revoked_at
      from sessions where session_id = ${pair.session_id}`;
    expect(row).toEqual({
      rotation_count: 1,
      refresh_token_hash: refreshTokenHash(next),
      previous_token_hash: refreshTokenHash(pair.refresh_token),
      revoked_at: null,
    });

    // Both instances agree on which token is current.
    for (const url of [cluster.a.url, cluster.b.url]) {
      expect(await (await client(url).validate(next)).json()).toMatchObject({
        active: true,
        session_id: pair.session_id,
      });
      expect(await (await client(url).validate(pair.refresh_token)).json()).toEqual({ active: false });
    }
  }
  // No race was taken for a reuse: nothing revoked, no revocation event written.
  const [{ n }] = await cluster.sql`select count(*)::int as n from outbox where subject = 'session.revoked'`;
  expect(n).toBe(0);
}, 30_000);
