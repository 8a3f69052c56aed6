/** The capacity benchmark's figures (bench/capacity.json) and their report (bench/capacity.md). */
import { writeFileSync } from "node:fs";
import type { PgDelta, RelationSizes } from "./pg-counters";
import type { WireCounts } from "./pg-wire-counter";
import type { Machine } from "./results";

export interface OperationFigures {
  name: string;
  what: string;
  requests: number;
  /** Requests in flight: 1, or more for the group-commit phase. */
  concurrency: number;
  /** PostgreSQL round trips of one request: median, max and mean over the phase's requests. */
  roundTripsMedian: number;
  roundTripsMax: number;
  roundTripsMean: number;
  /** Statements (Sync / Query messages) of one request, median. */
  statementsMedian: number;
  bytesToServer: number;
  bytesToClient: number;
  /** Per request from here on: totals of the phase divided by its requests. */
  durableCommits: number;
  walBytes: number;
  walRecords: number;
  walFullPageImages: number;
  walSyncs: number;
  events: number;
  sessionsAdded: number;
  rows: Record<string, { inserted: number; updated: number; hotUpdated: number; deleted: number }>;
  serverCpuUs: number;
  postgresCpuUs: number;
  latencyP50Ms: number;
  /** Requests/s of the phase (with the proxy in between; a sequential phase waits for each answer). */
  perSecond: number;
}

export interface RelayResult {
  events: number;
  secondsFromStart: number;
  secondsFromFirstSent: number;
  eventsPerSecond: number;
  perEvent: {
    roundTrips: number;
    durableCommits: number;
    walBytes: number;
    walSyncs: number;
    outboxUpdated: number;
    serverCpuUs: number;
    postgresCpuUs: number;
  };
  stream: {
    name: string;
    messages: number;
    bytes: number;
    bytesPerMessage: number;
    duplicateWindowSeconds: number;
    replicas: number;
  };
}

export interface CapacityResults {
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  postgres: string;
  settings: { requests: number; sizeSessions: number; relayEvents: number; jwtAlg: string };
  idle: { seconds: number; pg: PgDelta; wire: WireCounts };
  operations: OperationFigures[];
  relay: RelayResult;
  sizes: RelationSizes[];
  rowBytes: Record<string, { rows: number; bytes: number }>;
  sqlite: {
    benchStartedAt: string;
    httpFloor: number;
    casPerSecond: { sqliteFull: number; postgres: number };
    sqliteFull: Record<string, number>;
    postgres: Record<string, number>;
    cpuUsPerRequest: Record<string, number>;
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const dec = (n: number, digits = 2) => n.toFixed(digits);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function rowsCell(rows: OperationFigures["rows"]): string {
  const parts: string[] = [];
  for (const [table, r] of Object.entries(rows)) {
    const bits: string[] = [];
    if (r.inserted) bits.push(`+${dec(r.inserted)}`);
    if (r.updated) bits.push(`~${dec(r.updated)}${r.hotUpdated ? ` (${dec(r.hotUpdated)} HOT)` : ""}`);
    if (r.deleted) bits.push(`−${dec(r.deleted)}`);
    if (bits.length) parts.push(`${table} ${bits.join(" ")}`);
  }
  return parts.join("; ") || "none";
}

export function capacityMarkdown(r: CapacityResults): string {
  const m = r.machine;
  const lines = [
    "# Capacity figures (`bun run bench:capacity`)",
    "",
    `Run ${r.startedAt}, ${r.durationSeconds.toFixed(0)} s. Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, ` +
      `Linux ${m.kernel}, Bun ${m.bun}, PostgreSQL ${r.postgres} (a private cluster: fsync on, synchronous_commit on, autovacuum off while counting), JWT ${r.settings.jwtAlg}.`,
    "",
    `Each operation was sent ${r.settings.requests} times, one request at a time, to the real server on PostgreSQL through a counting proxy. ` +
      "Round trips = client turns on the PostgreSQL connection (statements pipelined in one write count once); " +
      "statements = Sync + simple Query messages; commits = transaction ids handed out (only writing transactions get one; each COMMIT waits for its WAL flush); " +
      "fsyncs = pg_stat_wal.wal_sync; rows from pg_stat_user_tables (+ inserted, ~ updated, − deleted); events = outbox rows written. " +
      "Per request: round trips and statements are medians, the rest phase totals / requests. CPU is the server's and PostgreSQL's processes, sequential requests (no batching).",
    "",
    "| operation | round trips (max) | statements | commits | fsyncs | WAL bytes | WAL records | rows written | events | server CPU µs | PostgreSQL CPU µs | p50 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ...r.operations.map(
      (o) =>
        `| ${o.name} — ${o.what} | ${o.concurrency > 1 ? `${dec(o.roundTripsMean)} (mean)` : `${o.roundTripsMedian} (${o.roundTripsMax})`} | ${o.statementsMedian} | ${dec(o.durableCommits)} | ${dec(o.walSyncs)} | ${int(o.walBytes)} | ${dec(o.walRecords, 1)} | ${rowsCell(o.rows)} | ${dec(o.events)} | ${int(o.serverCpuUs)} | ${int(o.postgresCpuUs)} | ${dec(o.latencyP50Ms)} |`,
    ),
    "",
    `Commits per fsync (group commit): ${r.operations
      .filter((o) => o.walSyncs > 0 && o.durableCommits > 0.5)
      .map((o) => `${o.name} ${dec(o.durableCommits / o.walSyncs)}`)
      .join(
        ", ",
      )}. Requests/s through the proxy: ${r.operations.map((o) => `${o.name} ${int(o.perSecond)}`).join(", ")}.`,
    `Round trips of a phase with requests in flight are its mean per request (turns of different requests interleave).`,
    "",
    `Idle server for ${r.idle.seconds} s (key reloads, store statistics): ${r.idle.wire.roundTrips} round trips, ${r.idle.pg.durableCommits} commits, ${int(r.idle.pg.walBytes)} WAL bytes.`,
    `Full-page images in the phases (WAL after a checkpoint touches a page first): ${r.operations.map((o) => `${o.name} ${dec(o.walFullPageImages)}`).join(", ")} per request.`,
    "",
    "## Relay",
    "",
    `${int(r.relay.events)} events in the outbox drained into JetStream stream ${r.relay.stream.name} (one local nats-server, ${r.relay.stream.replicas} replica) ` +
      `in ${dec(r.relay.secondsFromFirstSent)} s from the first row marked sent (${dec(r.relay.secondsFromStart)} s from the server's start): **${int(r.relay.eventsPerSecond)} events/s**.`,
    "",
    "| per relayed event | value |",
    "|---|---:|",
    `| PostgreSQL round trips | ${dec(r.relay.perEvent.roundTrips, 4)} |`,
    `| commits | ${dec(r.relay.perEvent.durableCommits, 4)} |`,
    `| fsyncs | ${dec(r.relay.perEvent.walSyncs, 4)} |`,
    `| WAL bytes (marking sent) | ${int(r.relay.perEvent.walBytes)} |`,
    `| outbox rows updated | ${dec(r.relay.perEvent.outboxUpdated)} |`,
    `| server CPU µs | ${dec(r.relay.perEvent.serverCpuUs, 1)} |`,
    `| PostgreSQL CPU µs | ${dec(r.relay.perEvent.postgresCpuUs, 1)} |`,
    `| bytes stored in the stream per message | ${int(r.relay.stream.bytesPerMessage)} |`,
    "",
    "## Sizes",
    "",
    `After seeding ${int(r.settings.sizeSessions)} sessions (3 per user, as the service writes them) and VACUUM ANALYZE:`,
    "",
    "| table | rows | avg row (pg_column_size) | heap | indexes | total | total per row | indexes |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    ...r.sizes
      .filter((s) => s.rows > 0)
      .map(
        (s) =>
          `| ${s.table} | ${int(s.rows)} | ${int(s.avgRowBytes)} B | ${mib(s.heapBytes)} | ${mib(s.indexBytes)} | ${mib(s.totalBytes)} | ${int(s.totalBytes / s.rows)} B | ${s.indexes.map((i) => `${i.name} ${int(i.bytes / s.rows)} B/row`).join(", ")} |`,
      ),
    "",
    `Average stored row: a session created through the API ${int(r.rowBytes.apiSession!.bytes)} B (${int(r.rowBytes.apiSession!.rows)} rows), ` +
      `a session refreshed at least once ${int(r.rowBytes.refreshedSession!.bytes)} B (${int(r.rowBytes.refreshedSession!.rows)} rows), ` +
      `an outbox row ${int(r.rowBytes.outbox!.bytes)} B (${int(r.rowBytes.outbox!.rows)} rows).`,
    "",
    "## Single-instance throughput (from bench/results.json)",
    "",
    `The last full \`bun run bench\` (${r.sqlite.benchStartedAt}, HTTP floor ${int(r.sqlite.httpFloor)} req/s on this machine), one server process, 50 connections:`,
    "",
    "| workload | SQLite FULL req/s | PostgreSQL req/s |",
    "|---|---:|---:|",
    ...Object.keys(r.sqlite.sqliteFull).map(
      (w) => `| ${w} | ${int(r.sqlite.sqliteFull[w]!)} | ${int(r.sqlite.postgres[w] ?? 0)} |`,
    ),
    "",
    `Store compare-and-swap rotations/s with 50 in flight: SQLite FULL ${int(r.sqlite.casPerSecond.sqliteFull)}, PostgreSQL ${int(r.sqlite.casPerSecond.postgres)}. ` +
      `Server CPU per request under load (SQLite FULL): ${Object.entries(r.sqlite.cpuUsPerRequest)
        .map(([w, us]) => `${w} ${int(us)} µs`)
        .join(", ")}.`,
    "",
  ];
  return lines.join("\n");
}

export function writeCapacityReport(results: CapacityResults, mdPath: string, jsonPath: string): void {
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(mdPath, capacityMarkdown(results));
}
