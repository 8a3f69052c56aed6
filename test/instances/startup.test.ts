/**
 * Instances started at the same moment on a brand-new PostgreSQL database all come up: the schema
 * migration runs once, under the advisory lock, while the others wait (without it, the second
 * CREATE TABLE fails and that instance exits). `sessionctl migrate` may race them too. Tokens one
 * instance issues right after start are accepted by the other at once, and the CLI works
 * unchanged on the database they share.
 */
import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { client, type Pair, PROJECT_ROOT } from "../support/server";
import { type Cluster, openSession, startCluster } from "./cluster";

const clusters: Cluster[] = [];
afterAll(async () => {
  for (const cluster of clusters) await cluster.close();
});

const MIGRATIONS = readdirSync(join(PROJECT_ROOT, "db/postgres/migrations")).filter((f) => f.endsWith(".sql")).length;

async function appliedMigrations(cluster: Cluster): Promise<number> {
  const [{ n }] = await cluster.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return n;
}

/** Tokens of each instance are accepted by the other on the first try. */
async function expectOneService(cluster: Cluster, user: string): Promise<Pair[]> {
  const pairs = [await openSession(cluster.a.url, user), await openSession(cluster.b.url, user)];
  const [a, b] = [client(cluster.a.url), client(cluster.b.url)];
  expect((await b.me(pairs[0]!.access_token)).status).toBe(200);
  expect((await a.me(pairs[1]!.access_token)).status).toBe(200);
  expect(await (await b.validate(pairs[0]!.refresh_token)).json()).toMatchObject({ active: true });
  expect(await (await a.validate(pairs[1]!.refresh_token)).json()).toMatchObject({ active: true });
  return pairs;
}

test.each([1, 2, 3])(
  "two instances started together on a new database both come up (round %i)",
  async (round) => {
    const cluster = await startCluster({ together: true });
    clusters.push(cluster);
    for (const server of [cluster.a, cluster.b]) expect((await client(server.url).readyz()).status).toBe(200);
    expect(await appliedMigrations(cluster)).toBe(MIGRATIONS);
    await expectOneService(cluster, `startup-${round}`);
  },
  30_000,
);

test("sessionctl migrate racing two starting instances; then the CLI works unchanged on PostgreSQL", async () => {
  const cluster = await startCluster({ instances: 0 });
  clusters.push(cluster);
  const [migrated, ...servers] = await Promise.all([
    cluster.cli(["migrate"]),
    cluster.startInstance(),
    cluster.startInstance(),
  ]);
  cluster.servers.push(...servers);
  expect(migrated.code).toBe(0);
  expect(migrated.stdout).toMatch(/^(Applied \d+ migrations?|No pending migrations); the schema is up to date\.\n$/);
  expect(await appliedMigrations(cluster)).toBe(MIGRATIONS);
  expect(await cluster.cli(["migrate"])).toMatchObject({
    code: 0,
    stdout: "No pending migrations; the schema is up to date.\n",
  });

  const pairs = await expectOneService(cluster, "cli-user");
  expect((await client(cluster.b.url).logout(pairs[0]!.access_token, pairs[0]!.session_id)).status).toBe(204);

  const stats = await cluster.cliJson(["stats"]);
  expect(stats.sessions).toEqual({ active: 1, revoked: 1, expired: 0 });
  expect(stats.users).toBe(1);
  // No NATS_URL: every event waits in the outbox (2 created, 1 revoked).
  expect(stats.events.pending).toBe(3);

  const list = await cluster.cliJson<Array<{ session_id: string; status: string; user_id: string }>>(["list"]);
  expect(
    list
      .map(({ session_id, status, user_id }) => ({ session_id, status, user_id }))
      .sort((x, y) => x.session_id.localeCompare(y.session_id)),
  ).toEqual(
    [
      { session_id: pairs[0]!.session_id, status: "revoked", user_id: "cli-user" },
      { session_id: pairs[1]!.session_id, status: "active", user_id: "cli-user" },
    ].sort((x, y) => x.session_id.localeCompare(y.session_id)),
  );
  // A CLI revoke is refused at once by both instances.
  expect((await cluster.cli(["revoke", pairs[1]!.session_id])).code).toBe(0);
  for (const server of [cluster.a, cluster.b])
    expect((await client(server.url).me(pairs[1]!.access_token)).status).toBe(401);
}, 30_000);
