/**
 * Two instances on one PostgreSQL database: a logout answered on one instance is refused by the
 * other on the very next request (no instance keeps a cache that outlives a revocation).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { client, type Pair } from "../support/server";
import { type Cluster, openSession, startCluster } from "./cluster";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(() => cluster?.close());

/** Every way `url` could still honour the session: all must say no. */
async function expectRefusedOn(url: string, pair: Pair) {
  const api = client(url);
  const me = await api.me(pair.access_token);
  expect(me.status).toBe(401);
  expect(((await me.json()) as { error: string }).error).toBe("invalid_token");
  const refreshed = await api.refresh(pair.refresh_token);
  expect(refreshed.status).toBe(401);
  expect(((await refreshed.json()) as { error: string }).error).toBe("invalid_grant");
  expect(await (await api.validate(pair.refresh_token)).json()).toEqual({ active: false });
}

test.each([
  ["A", "B"],
  ["B", "A"],
] as const)("DELETE /session/{id} on instance %s is refused at once on instance %s", async (from, _to) => {
  const [origin, other] = from === "A" ? [cluster.a, cluster.b] : [cluster.b, cluster.a];
  const gone = await openSession(origin.url, `logout-${from}`);
  const kept = await openSession(origin.url, `logout-${from}`);
  // The other instance has seen (and so could have cached) the session before the logout.
  expect((await client(other.url).me(gone.access_token)).status).toBe(200);
  expect(await (await client(other.url).validate(gone.refresh_token)).json()).toMatchObject({ active: true });

  expect((await client(origin.url).logout(gone.access_token, gone.session_id)).status).toBe(204);
  await expectRefusedOn(other.url, gone);

  // Only that session ended: the user's other one still works on both instances.
  expect((await client(other.url).me(kept.access_token)).status).toBe(200);
  expect((await client(origin.url).me(kept.access_token)).status).toBe(200);
  const [row] = await cluster.sql`select revoke_reason from sessions where session_id = ${gone.session_id}`;
  expect(row).toEqual({ revoke_reason: "logout" });
});

test("a burst of logouts on A is refused on B for every session, each on the next request", async () => {
  const pairs = await Promise.all(Array.from({ length: 20 }, (_, i) => openSession(cluster.b.url, `burst-${i}`)));
  await Promise.all(
    pairs.map(async (pair) => {
      expect((await client(cluster.b.url).me(pair.access_token)).status).toBe(200);
      expect((await client(cluster.a.url).logout(pair.access_token, pair.session_id)).status).toBe(204);
      await expectRefusedOn(cluster.b.url, pair);
    }),
  );
});

test("POST /session/revoke on B is refused at once on A", async () => {
  const pair = await openSession(cluster.a.url, "revoke-b");
  expect((await client(cluster.a.url).me(pair.access_token)).status).toBe(200);
  const res = await client(cluster.b.url).revoke(pair.refresh_token);
  expect(res.status).toBe(200);
  await expectRefusedOn(cluster.a.url, pair);
});
