/**
 * The user.deleted durable consumer `session-service` is shared by two instances: each message is
 * handled by one of them, once. Every session of a deleted user (opened through either instance)
 * is revoked with exactly one `session.revoked` (user_deleted) event, nothing is redelivered, and
 * a later POST /session for that user is 409 on both instances.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cloudEvent } from "../events/helpers";
import { type NatsClient, natsClient } from "../support/nats";
import { client, type Pair } from "../support/server";
import { waitFor } from "../support/wait";
import { type Cluster, openSession, startCluster } from "./cluster";

let cluster: Cluster;
let bus: NatsClient;
beforeAll(async () => {
  cluster = await startCluster({ nats: true });
  bus = await natsClient(cluster.nats!.url);
});
afterAll(async () => {
  await bus?.close();
  await cluster?.close();
});

const USERS = 30;
const HANDLED = /"msg":"user deleted; sessions revoked"/g;

test(`${USERS} user.deleted messages through the shared durable consumer: each handled once`, async () => {
  const users = Array.from({ length: USERS }, (_, i) => `deleted-user-${i}`);
  // Two sessions per user, one through each instance; and a user who stays.
  const sessions: Pair[] = (
    await Promise.all(
      users.map((user) => Promise.all([openSession(cluster.a.url, user), openSession(cluster.b.url, user)])),
    )
  ).flat();
  const survivor = await openSession(cluster.a.url, "surviving-user");

  // Both instances pull from the one durable consumer before anything is published.
  await bus.waitForStream("USERS");
  await waitFor(
    "both instances pulling from session-service",
    async () => {
      const info = await bus.jsm.consumers.info("USERS", "session-service");
      return info.num_waiting >= 2;
    },
    15_000,
    100,
  );

  for (const user of users) await bus.publish("user.deleted", { user_id: user });

  const ids = new Set(sessions.map((s) => s.session_id));
  const revokedByDeletion = async () =>
    (await bus.readAll("SESSIONS")).map(cloudEvent).filter((doc) => doc.type === "session.revoked");
  await waitFor(
    "every session's revocation in the stream",
    async () => (await revokedByDeletion()).length >= ids.size,
    30_000,
    200,
  );
  const info = await waitFor(
    "consumer caught up",
    async () => {
      const current = await bus.jsm.consumers.info("USERS", "session-service");
      return current.num_pending === 0 && current.num_ack_pending === 0 && current.delivered.stream_seq >= USERS
        ? current
        : null;
    },
    15_000,
    100,
  );
  expect(info.num_redelivered).toBe(0);
  expect(info.num_ack_pending).toBe(0);
  expect(info.ack_floor.stream_seq).toBe(USERS);

  // Exactly one user_deleted revocation per session, and none for anyone else.
  const revoked = await revokedByDeletion();
  expect(revoked.map((doc) => doc.data.reason)).toEqual(Array(ids.size).fill("user_deleted"));
  expect(revoked.map((doc) => doc.subject).sort()).toEqual([...ids].sort());
  // Handled once in all: the two instances' logs hold 30 handlings between them, not 60.
  // Each handling's line follows its ack: wait for the lines rather than assume they are written.
  const handledBy = () => [cluster.a, cluster.b].map((server) => server.logs().match(HANDLED)?.length ?? 0);
  await waitFor("every handling's log line", () => handledBy().reduce((a, b) => a + b) >= USERS);
  const handled = handledBy();
  expect(handled[0]! + handled[1]!).toBe(USERS);
  // Both were pulling, so JetStream spread the messages over both (it alternates between waiting pulls).
  expect(handled.every((n) => n > 0)).toBe(true);

  const rows = await cluster.sql`select count(*)::int as n from deleted_users`;
  expect(rows[0].n).toBe(USERS);
  const [{ active }] = await cluster.sql`
    select count(*)::int as active from sessions where revoked_at is null and user_id like 'deleted-user-%'`;
  expect(active).toBe(0);

  // A later create is refused on both instances; the other user is untouched.
  for (const user of users) {
    for (const server of [cluster.a, cluster.b]) {
      const res = await client(server.url).create({ user_id: user });
      expect({ user, status: res.status }).toEqual({ user, status: 409 });
      expect(((await res.json()) as { error: string }).error).toBe("user_deleted");
    }
  }
  expect((await client(cluster.b.url).me(survivor.access_token)).status).toBe(200);
}, 60_000);
