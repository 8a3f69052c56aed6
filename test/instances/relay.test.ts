/**
 * The outbox relay with two instances on one PostgreSQL database and one nats-server: one instance
 * at a time relays (the `outbox-relay` lease). When the holder is SIGKILLed — in the middle of a
 * burst, or between JetStream's acks and marking the rows sent — the other takes over, and every
 * event reaches stream SESSIONS exactly once, `created` before `revoked` per session, with no
 * unsent row left.
 */
import { afterAll, expect, test } from "bun:test";
import { bySession, cloudEvent } from "../events/helpers";
import { type NatsClient, natsClient } from "../support/nats";
import { client, type Pair, type RunningServer } from "../support/server";
import { waitFor } from "../support/wait";
import { type Cluster, openSession, startCluster } from "./cluster";

const clusters: Cluster[] = [];
const buses: NatsClient[] = [];
afterAll(async () => {
  for (const bus of buses) await bus.close();
  for (const cluster of clusters) await cluster.close();
});

async function relayLeaseOwner(cluster: Cluster): Promise<string | null> {
  const [row] = await cluster.sql`select owner from leases where name = 'outbox-relay'`;
  return (row?.owner as string | undefined) ?? null;
}

/** Instance A with NATS, holding the relay lease before B starts; then B. */
async function clusterWithHolderA(envA: Record<string, string> = {}) {
  const cluster = await startCluster({ nats: true, instances: 1, envOf: [envA] });
  clusters.push(cluster);
  const bus = await natsClient(cluster.nats!.url);
  buses.push(bus);
  const holder = await waitFor("A takes the relay lease", () => relayLeaseOwner(cluster), 10_000);
  cluster.servers.push(await cluster.startInstance());
  // B is up and connected to NATS (it created the USERS consumer or found it), yet A keeps the lease.
  await Bun.sleep(1_000);
  expect(await relayLeaseOwner(cluster)).toBe(holder);
  return { cluster, bus, holder };
}

async function createMany(urls: string[], count: number, prefix: string): Promise<Pair[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => openSession(urls[i % urls.length]!, `${prefix}-${i % 7}`)),
  );
}

async function logoutAll(url: string, pairs: Pair[]) {
  const statuses = await Promise.all(
    pairs.map(async (p) => (await client(url).logout(p.access_token, p.session_id)).status),
  );
  expect(statuses).toEqual(Array(pairs.length).fill(204));
}

async function outbox(cluster: Cluster) {
  const rows = await cluster.sql`select id, subject, sent_at from outbox order by seq`;
  return {
    ids: rows.map((r: { id: string }) => r.id) as string[],
    unsent: rows.filter((r: { sent_at: unknown }) => r.sent_at === null).length,
  };
}

/** Every outbox row is in the stream once, by Nats-Msg-Id, in per-session order; none is unsent. */
async function expectRelayedExactlyOnce(cluster: Cluster, bus: NatsClient, minimum: number) {
  await waitFor("no unsent outbox rows", async () => (await outbox(cluster)).unsent === 0, 30_000, 200);
  const { ids } = await outbox(cluster);
  expect(ids.length).toBeGreaterThanOrEqual(minimum);
  const messages = await bus.readAll("SESSIONS");
  const docs = messages.map(cloudEvent); // also checks Nats-Msg-Id = event id
  expect(messages.length).toBe(ids.length);
  expect(new Set(messages.map((m) => m.msgId)).size).toBe(ids.length);
  expect(new Set(messages.map((m) => m.msgId))).toEqual(new Set(ids));
  for (const [session, events] of bySession(docs)) {
    const types = events.map((e) => e.type);
    expect({ session, types }).toEqual({
      session,
      types: types.length === 1 ? ["session.created"] : ["session.created", "session.revoked"],
    });
  }
  return docs;
}

async function expectDiedBySigkill(server: RunningServer, timeoutMs: number) {
  const died = await Promise.race([server.proc.exited.then(() => true), Bun.sleep(timeoutMs).then(() => false)]);
  expect(died).toBe(true);
  expect(server.proc.signalCode).toBe("SIGKILL");
}

test("SIGKILL of the lease holder mid-burst: B takes over, each event reaches the stream once", async () => {
  const { cluster, bus, holder } = await clusterWithHolderA();
  const [a, b] = [cluster.a, cluster.b];

  // Phase 1 through both instances: 60 created, 30 of them logged out on the other instance.
  const first = await createMany([a.url, b.url], 60, "relay-kill");
  await Promise.all([
    logoutAll(
      b.url,
      first.filter((_, i) => i % 4 === 0),
    ),
    logoutAll(
      a.url,
      first.filter((_, i) => i % 4 === 2),
    ),
  ]);

  // Phase 2 through B while A dies under it: 70 created, then 50 logouts (some of A's sessions too).
  const burst = createMany([b.url], 70, "relay-burst");
  await Bun.sleep(20);
  await a.kill();
  const second = await burst;
  // Events wait that only a new holder can relay.
  expect((await outbox(cluster)).unsent).toBeGreaterThan(0);
  await logoutAll(b.url, [...second.slice(0, 40), ...first.filter((_, i) => i % 4 === 1).slice(0, 10)]);

  // The lease of the dead holder expires (5 s) and B takes it.
  await waitFor(
    "B takes the relay lease",
    async () => {
      const owner = await relayLeaseOwner(cluster);
      return owner !== null && owner !== holder;
    },
    15_000,
    100,
  );

  const docs = await expectRelayedExactlyOnce(cluster, bus, 200);
  expect(docs.filter((d) => d.type === "session.created").length).toBe(130);
  expect(docs.filter((d) => d.type === "session.revoked").length).toBe(80);
}, 60_000);

test("the holder dies between PubAck and mark-sent: B relays the batch again, JetStream drops the repeats", async () => {
  // A relays one batch and SIGKILLs itself before marking it sent (fault injection of the server).
  const { cluster, bus } = await clusterWithHolderA({ SESSION_SERVICE_FAULT: "relay-crash-after-publish" });
  const [a, b] = [cluster.a, cluster.b];

  const pairs = await createMany([b.url], 100, "relay-crash");
  await expectDiedBySigkill(a, 10_000);
  // A's batch is in the stream, yet no row is marked sent: B must publish it again.
  const published = await bus.count("SESSIONS");
  expect(published).toBeGreaterThan(0);
  const [{ sent }] = await cluster.sql`select count(*)::int as sent from outbox where sent_at is not null`;
  expect(sent).toBe(0);

  await logoutAll(b.url, pairs.slice(0, 60));
  await Promise.all(Array.from({ length: 40 }, (_, i) => openSession(b.url, `relay-crash-late-${i}`)));
  const docs = await expectRelayedExactlyOnce(cluster, bus, 200);
  expect(docs.length).toBe(200);
}, 60_000);
