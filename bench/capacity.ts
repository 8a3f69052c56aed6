/**
 * Capacity benchmark (issue 16): what one API operation costs PostgreSQL and NATS, measured on the
 * real server (`bun server/main.ts`), as the inputs of the README's capacity plan.
 *
 * It starts a PostgreSQL of its own (fsync on, autovacuum off, so nothing else writes WAL or uses
 * transaction ids while it counts: the machine's shared server has other clients, and WAL and xids
 * are counted per cluster), the server behind a counting proxy (pg-wire-counter.ts), and sends
 * each operation CAPACITY_OPS times, one request at a time. Per operation it records the
 * PostgreSQL round trips and statements (median over the requests), durable commits, fsyncs, WAL
 * bytes and rows written (totals of the phase / requests), outbox events, and the CPU the server
 * and PostgreSQL spent. Then the relay drains a backlog into a JetStream of its own (events/s and
 * what marking them sent costs), and CAPACITY_SIZE_SESSIONS sessions are seeded to measure bytes
 * per session with indexes. Writes bench/capacity.md and bench/capacity.json; talks only to
 * 127.0.0.1 and stops everything it started.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { connect } from "nats";
import { tempDir } from "../test/support/core";
import { startNats } from "../test/support/nats";
import { startPrivatePostgres } from "../test/support/private-postgres";
import { type RunningServer, startServer } from "../test/support/server";
import { waitFor } from "../test/support/wait";
import { Api, inParallel, type Pair } from "./capacity-ops";
import { type CapacityResults, type OperationFigures, writeCapacityReport } from "./capacity-report";
import { BENCH_DPOP_MAX_AGE, BENCH_PUBLIC_URL, dpopClientKeys, refreshProof } from "./dpop-proofs";
import { describeMachine } from "./machine";
import { PgCounters, pgDelta, STATS_FLUSH_MS } from "./pg-counters";
import { countsBetween, startWireCounter, type WireCounts } from "./pg-wire-counter";
import { cleanUp, installCleanup, removeAtExit, undoOnInterrupt } from "./processes";
import { postgresWriter, seedSessions } from "./seed";
import { settings } from "./settings";
import { percentile } from "./stats";

const OPS = Number(process.env.CAPACITY_OPS ?? 200);
const SIZE_SESSIONS = Number(process.env.CAPACITY_SIZE_SESSIONS ?? 100_000);
const RELAY_EVENTS = Number(process.env.CAPACITY_RELAY_EVENTS ?? 20_000);
const SESSIONS_PER_LISTED_USER = 5;
/** The group-commit phase: refreshes with this many in flight, as under load. */
const CONCURRENT_REFRESHES = Number(process.env.CAPACITY_CONCURRENT_REFRESHES ?? 3_000);
const IN_FLIGHT = 50;
const PREPARE_CONCURRENCY = 8;
const CLOCK_TICKS = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU time in 1/100 s

/** utime + stime of a process, in seconds (0 when it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds of the PostgreSQL listening on `port`: its postmaster and every child (backends, WAL writer …). */
function postgresCpuSeconds(port: number): number {
  const pids: number[] = [];
  let postmaster: number | null = null;
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      if (cmdline.includes("postgres") && cmdline.includes(`-p\u0000${port}`)) postmaster = pid;
    } catch {
      // gone meanwhile
    }
  }
  if (postmaster === null) return 0;
  for (const [pid, parent] of parents) if (pid === postmaster || parent === postmaster) pids.push(pid);
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

interface Phase {
  name: string;
  what: string;
  /** One request; `i` is the request's number in the phase. */
  run(i: number): Promise<unknown>;
  /** Default OPS, one at a time. With more in flight, round trips are the phase's mean (turns interleave). */
  requests?: number;
  concurrency?: number;
}

async function main(): Promise<void> {
  installCleanup();
  const started = Date.now();
  const machine = await describeMachine();
  console.log(
    `capacity: ${OPS} requests per operation, ${SIZE_SESSIONS} sessions for sizes, ${RELAY_EVENTS} relayed events`,
  );

  const pg = await startPrivatePostgres("-c fsync=on -c autovacuum=off");
  undoOnInterrupt(async () => pg.cleanup());
  const admin = new SQL({ url: pg.url, max: 1 });
  await admin`create database capacity`;
  await admin.close();
  const directUrl = pg.url.replace(/\/postgres$/, "/capacity");
  const wire = await startWireCounter(pg.port);
  const proxiedUrl = `postgres://postgres@127.0.0.1:${wire.port}/capacity`;
  const counters = new PgCounters(directUrl);
  const dir = removeAtExit(tempDir("bench-capacity-"));
  const serverEnv = {
    DATABASE_URL: proxiedUrl,
    LOG_LEVEL: "warn",
    JWT_ALG: settings.jwtAlg,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    DPOP_PROOF_MAX_AGE: BENCH_DPOP_MAX_AGE,
  };
  let server: RunningServer = await startServer(dir, serverEnv, 60_000, join(dir, "server.log"));
  const api = new Api(server.url);

  // Everything the phases spend, made first: the statistics of preparing must be flushed before the first phase.
  console.log("  preparing sessions through the API …");
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const make = (prefix: string, n: number, jkt?: (i: number) => string) =>
    inParallel(range(n), PREPARE_CONCURRENCY, (i) => api.create(`${prefix}-${i}`, jkt?.(i)));
  const toRefresh = await make("cap-r", OPS);
  const keys = await dpopClientKeys(settings.jwtAlg);
  const keyOf = (i: number) => keys[i % keys.length]!;
  const toRefreshBound = await make("cap-b", OPS, (i) => keyOf(i).jkt);
  const toValidate = await make("cap-v", OPS);
  const toRevoke = await make("cap-l", OPS);
  const toDelete = await make("cap-d", OPS);
  const toRefreshConcurrently = await make("cap-g", CONCURRENT_REFRESHES);
  const listed: Pair[][] = await inParallel(range(OPS), PREPARE_CONCURRENCY, async (u) => {
    const pairs: Pair[] = [];
    for (let k = 0; k < SESSIONS_PER_LISTED_USER; k++) pairs.push(await api.create(`cap-m-${u}`));
    return pairs;
  });
  const proofs = range(OPS).map((i) => refreshProof(keyOf(i), Date.now()));
  await Bun.sleep(STATS_FLUSH_MS);

  // An idle window: what the server does on its own (key reloads, store statistics) in that time.
  const idleSeconds = 5;
  const idleBefore = await counters.snapshot();
  const idleWire = wire.snapshot();
  await Bun.sleep(idleSeconds * 1000);
  const idle = {
    seconds: idleSeconds,
    pg: pgDelta(idleBefore, await counters.snapshot()),
    wire: countsBetween(idleWire, wire.snapshot()),
  };

  const phases: Phase[] = [
    { name: "create", what: "POST /session (new user)", run: (i) => api.create(`cap-c-${i}`) },
    { name: "refresh", what: "POST /session/refresh", run: (i) => api.refresh(toRefresh[i]!.refresh_token) },
    {
      name: "refresh-bound",
      what: "POST /session/refresh with a DPoP proof",
      run: (i) => api.refresh(toRefreshBound[i]!.refresh_token, proofs[i]),
    },
    {
      name: "refresh-50",
      what: `POST /session/refresh, ${IN_FLIGHT} in flight (group commit)`,
      run: (i) => api.refresh(toRefreshConcurrently[i]!.refresh_token),
      requests: CONCURRENT_REFRESHES,
      concurrency: IN_FLIGHT,
    },
    { name: "validate", what: "POST /session/validate", run: (i) => api.validate(toValidate[i]!.refresh_token) },
    {
      name: "me",
      what: `GET /session/me (user with ${SESSIONS_PER_LISTED_USER} sessions)`,
      run: async (i) => {
        const n = await api.me(listed[i]![0]!.access_token);
        if (n !== SESSIONS_PER_LISTED_USER) throw new Error(`me listed ${n} sessions`);
      },
    },
    {
      name: "revoke",
      what: "POST /session/revoke (logout by refresh token)",
      run: (i) => api.revokeByToken(toRevoke[i]!.refresh_token),
    },
    {
      name: "delete-one",
      what: "DELETE /session/:id (logout one device)",
      run: (i) => api.deleteOne(toDelete[i]!.access_token, toDelete[i]!.session_id),
    },
    {
      name: "delete-all",
      what: `DELETE /session/all (user with ${SESSIONS_PER_LISTED_USER} sessions)`,
      run: async (i) => {
        const n = await api.deleteAll(listed[i]![0]!.access_token);
        if (n !== SESSIONS_PER_LISTED_USER) throw new Error(`delete-all revoked ${n}`);
      },
    },
  ];

  const operations: OperationFigures[] = [];
  for (const phase of phases) {
    const before = await counters.snapshot();
    const outboxBefore = await counters.count("outbox");
    const sessionsBefore = await counters.count("sessions");
    const cpuBefore = { server: cpuSeconds(server.proc.pid), pg: postgresCpuSeconds(pg.port) };
    const requests = phase.requests ?? OPS;
    const concurrency = phase.concurrency ?? 1;
    const perRequest: WireCounts[] = [];
    const latencies: number[] = [];
    const wireBefore = wire.snapshot();
    const t0 = performance.now();
    if (concurrency === 1) {
      for (let i = 0; i < requests; i++) {
        const w0 = wire.snapshot();
        const r0 = performance.now();
        await phase.run(i);
        latencies.push(performance.now() - r0);
        perRequest.push(countsBetween(w0, wire.snapshot()));
      }
    } else {
      await inParallel(range(requests), concurrency, async (_, i) => {
        const r0 = performance.now();
        await phase.run(i);
        latencies.push(performance.now() - r0);
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    const wireTotal = countsBetween(wireBefore, wire.snapshot());
    const cpuAfter = { server: cpuSeconds(server.proc.pid), pg: postgresCpuSeconds(pg.port) };
    const immediate = await counters.snapshot();
    const events = (await counters.count("outbox")) - outboxBefore;
    const sessionsAdded = (await counters.count("sessions")) - sessionsBefore;
    await Bun.sleep(STATS_FLUSH_MS);
    const flushed = pgDelta(before, await counters.snapshot());
    const exact = pgDelta(before, immediate);
    const mean = (pick: (w: WireCounts) => number) => pick(wireTotal) / requests;
    const median = (pick: (w: WireCounts) => number) =>
      perRequest.length > 0 ? percentile(perRequest.map(pick), 50) : Math.round(mean(pick) * 100) / 100;
    const max = (pick: (w: WireCounts) => number) => (perRequest.length > 0 ? Math.max(...perRequest.map(pick)) : 0);
    const figures: OperationFigures = {
      name: phase.name,
      what: phase.what,
      requests,
      concurrency,
      roundTripsMedian: median((w) => w.roundTrips),
      roundTripsMax: max((w) => w.roundTrips),
      roundTripsMean: mean((w) => w.roundTrips),
      statementsMedian: median((w) => w.syncs),
      bytesToServer: mean((w) => w.bytesToServer),
      bytesToClient: mean((w) => w.bytesToClient),
      durableCommits: exact.durableCommits / requests,
      walBytes: exact.walBytes / requests,
      walRecords: flushed.walRecords / requests,
      walFullPageImages: flushed.walFullPageImages / requests,
      walSyncs: flushed.walSyncs / requests,
      events: events / requests,
      sessionsAdded: sessionsAdded / requests,
      rows: Object.fromEntries(
        Object.entries(flushed.tables).map(([table, r]) => [
          table,
          {
            inserted: r.inserted / requests,
            updated: r.updated / requests,
            hotUpdated: r.hotUpdated / requests,
            deleted: r.deleted / requests,
          },
        ]),
      ),
      serverCpuUs: ((cpuAfter.server - cpuBefore.server) * 1e6) / requests,
      postgresCpuUs: ((cpuAfter.pg - cpuBefore.pg) * 1e6) / requests,
      latencyP50Ms: percentile(latencies, 50),
      perSecond: requests / seconds,
    };
    operations.push(figures);
    console.log(
      `  ${phase.name.padEnd(14)} ${figures.roundTripsMedian} round trips (${figures.statementsMedian} statements), ` +
        `${figures.durableCommits.toFixed(2)} commits, ${figures.walSyncs.toFixed(2)} fsyncs, ` +
        `${figures.walBytes.toFixed(0)} WAL B, ${figures.events.toFixed(2)} events`,
    );
  }
  await server.stop();

  // The relay: a backlog of real events (the phases' own) topped up to RELAY_EVENTS copies with fresh ids.
  console.log("  relay: draining the outbox into JetStream …");
  const pending = await counters.count("outbox where sent_at is null");
  if (pending < RELAY_EVENTS) {
    await counters.run(`
      insert into outbox (id, subject, payload, created_at)
      select gen_random_uuid()::text, o.subject, o.payload, o.created_at
        from generate_series(1, ${RELAY_EVENTS - pending}) g
        join lateral (select * from outbox where seq = 1 + (g % ${pending})) o on true`);
  }
  const backlog = await counters.count("outbox where sent_at is null");
  const nats = await startNats();
  undoOnInterrupt(() => nats.cleanup());
  await Bun.sleep(STATS_FLUSH_MS);
  const relayBefore = await counters.snapshot();
  const relayWire = wire.snapshot();
  const relayStarted = performance.now();
  server = await startServer(dir, { ...serverEnv, NATS_URL: nats.url }, 60_000, join(dir, "server.log"));
  const serverCpu0 = cpuSeconds(server.proc.pid);
  const pgCpu0 = postgresCpuSeconds(pg.port);
  let firstSentAt: number | null = null;
  await waitFor(
    "outbox drained",
    async () => {
      const left = await counters.count("outbox where sent_at is null");
      if (firstSentAt === null && left < backlog) firstSentAt = performance.now();
      return left === 0;
    },
    120_000,
    20,
  );
  const drainedAt = performance.now();
  const relayServerCpu = cpuSeconds(server.proc.pid) - serverCpu0;
  const relayPgCpu = postgresCpuSeconds(pg.port) - pgCpu0;
  const relayImmediate = await counters.snapshot();
  const relayWireDelta = countsBetween(relayWire, wire.snapshot());
  const nc = await connect({ servers: nats.url });
  const stream = await (await nc.jetstreamManager()).streams.info("SESSIONS");
  await nc.close();
  await server.stop();
  await Bun.sleep(STATS_FLUSH_MS);
  const relayFlushed = pgDelta(relayBefore, await counters.snapshot());
  const relayExact = pgDelta(relayBefore, relayImmediate);
  const relay = {
    events: backlog,
    secondsFromStart: (drainedAt - relayStarted) / 1000,
    secondsFromFirstSent: (drainedAt - (firstSentAt ?? relayStarted)) / 1000,
    eventsPerSecond: backlog / ((drainedAt - (firstSentAt ?? relayStarted)) / 1000),
    perEvent: {
      roundTrips: relayWireDelta.roundTrips / backlog,
      durableCommits: relayExact.durableCommits / backlog,
      walBytes: relayExact.walBytes / backlog,
      walSyncs: relayFlushed.walSyncs / backlog,
      outboxUpdated: (relayFlushed.tables.outbox?.updated ?? 0) / backlog,
      serverCpuUs: (relayServerCpu * 1e6) / backlog,
      postgresCpuUs: (relayPgCpu * 1e6) / backlog,
    },
    stream: {
      name: "SESSIONS",
      messages: stream.state.messages,
      bytes: stream.state.bytes,
      bytesPerMessage: stream.state.bytes / Math.max(1, stream.state.messages),
      duplicateWindowSeconds: stream.config.duplicate_window / 1e9,
      replicas: stream.config.num_replicas,
    },
  };
  console.log(
    `  relay: ${relay.events} events, ${relay.eventsPerSecond.toFixed(0)}/s, ${relay.perEvent.walBytes.toFixed(0)} WAL B and ` +
      `${relay.perEvent.durableCommits.toFixed(4)} commits per event, ${relay.stream.bytesPerMessage.toFixed(0)} B per stored message`,
  );
  await nats.cleanup();

  // Sizes: SIZE_SESSIONS more sessions as the service writes them (3 per user), then a VACUUM so
  // the figures are those of a settled table, not of dead versions left by the phases.
  console.log(`  sizes: seeding ${SIZE_SESSIONS} sessions …`);
  const writer = postgresWriter(directUrl);
  await seedSessions(writer, SIZE_SESSIONS, (i) => `size-user-${Math.floor(i / 3)}`, false);
  await writer.close();
  await counters.run("vacuum analyze");
  const sizes = await counters.sizes();
  const refreshedRow = await counters.avgRowBytes("sessions", "rotation_count > 0");
  const apiRow = await counters.avgRowBytes("sessions", "user_id like 'cap-%'");
  const outboxRow = await counters.avgRowBytes("outbox", "true");
  await counters.close();
  await wire.close();

  const sqlite = sqliteFromBenchResults();
  const results: CapacityResults = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine,
    postgres: await postgresVersion(directUrl),
    settings: { requests: OPS, sizeSessions: SIZE_SESSIONS, relayEvents: RELAY_EVENTS, jwtAlg: settings.jwtAlg },
    idle,
    operations,
    relay,
    sizes,
    rowBytes: { refreshedSession: refreshedRow, apiSession: apiRow, outbox: outboxRow },
    sqlite,
  };
  writeCapacityReport(results, join(import.meta.dir, "capacity.md"), join(import.meta.dir, "capacity.json"));
  console.log(`capacity: ${results.durationSeconds.toFixed(0)} s, wrote bench/capacity.md and bench/capacity.json`);
  pg.cleanup();
}

async function postgresVersion(url: string): Promise<string> {
  const sql = new SQL({ url, max: 1 });
  try {
    const [row] = await sql`show server_version`;
    return row.server_version;
  } finally {
    await sql.close();
  }
}

/** The single-instance SQLite FULL and PostgreSQL figures of the last full `bun run bench` (bench/results.json). */
function sqliteFromBenchResults(): CapacityResults["sqlite"] {
  const results = JSON.parse(readFileSync(join(import.meta.dir, "results.json"), "utf8"));
  const store = (key: string) => results.stores.find((s: { store: string }) => s.store === key);
  const rates = (key: string) =>
    Object.fromEntries(store(key).workloads.map((w: { workload: string; rps: number }) => [w.workload, w.rps]));
  return {
    benchStartedAt: results.startedAt,
    httpFloor: results.ceilings.http.rps,
    casPerSecond: { sqliteFull: results.ceilings.cas["sqlite-full"], postgres: results.ceilings.cas.postgres },
    sqliteFull: rates("sqlite-full"),
    postgres: rates("postgres"),
    cpuUsPerRequest: Object.fromEntries(
      results.quiet.workloads.map((w: { workload: string; cpuUsPerRequest: number }) => [
        w.workload,
        w.cpuUsPerRequest,
      ]),
    ),
  };
}

try {
  await main();
} finally {
  await cleanUp();
}
