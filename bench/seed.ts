/**
 * Fast seeding straight into the store, not through HTTP: rows built as the service builds them
 * (the refresh-token hash keyed with the test SECRET_KEY's hash key, so the tokens work against a
 * server started with that key), written with prepared multi-row statements in big transactions.
 */

import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { getTableColumns } from "drizzle-orm";
import { sessions as pgSessions } from "../db/postgres/schema";
import { sessions as sqliteSessions } from "../db/sqlite/schema";
import { decodeSecretKey } from "../server/config";
import { eventFactory } from "../server/core/events";
import { sessionMac } from "../server/core/integrity";
import type { SessionRow, SessionStore } from "../server/core/ports";
import { mintRefreshToken } from "../server/core/refresh-tokens";
import { deriveSecrets, keyedHash } from "../server/core/secrets";
import { SECRET_KEY } from "../test/support/core";

/** The server's defaults (SESSION_IDLE_TIMEOUT 14d, SESSION_MAX_LIFETIME 30d, ACCESS_TOKEN_TTL 15m). */
const IDLE_MS = 14 * 86_400_000;
const MAX_LIFETIME_MS = 30 * 86_400_000;
const ACCESS_TTL_MS = 15 * 60_000;

const secrets = deriveSecrets(decodeSecretKey(SECRET_KEY)!);

export interface SeededSession {
  row: SessionRow;
  refreshToken: string;
}

/** Real user agents, in turn, so /session/me lists devices as a deployment's would (a phone, laptops…). */
const USER_AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36",
];
let seeded = 0;

/**
 * An active session of `userId` whose current refresh token is the returned one; with `dpopJkt`,
 * bound to that DPoP key (its token says so, and its refreshes need a proof).
 */
export function newSession(userId: string, now: number, dpopJkt: string | null = null): SeededSession {
  const sessionId = Bun.randomUUIDv7();
  const refreshToken = mintRefreshToken(secrets, sessionId, dpopJkt !== null);
  const identity = {
    sessionId,
    userId,
    claims: null,
    dpopJkt,
    createdAt: now,
    absoluteExpiresAt: now + MAX_LIFETIME_MS,
  };
  return {
    refreshToken,
    row: {
      ...identity,
      refreshTokenHash: keyedHash(secrets.tokenHashKey, refreshToken),
      previousTokenHash: null,
      rotationNonce: null,
      rotatedAt: null,
      rotationCount: 0,
      userAgent: USER_AGENTS[seeded++ % USER_AGENTS.length]!,
      ip: "192.0.2.1",
      name: null,
      mac: sessionMac(secrets.integrityKey, identity),
      lastUsedAt: now,
      expiresAt: now + Math.min(IDLE_MS, MAX_LIFETIME_MS),
      accessExpiresAt: now + ACCESS_TTL_MS,
      revokedAt: null,
      revokeReason: null,
    },
  };
}

export interface SeedWriter {
  /** Rows per insert call: one transaction each. */
  readonly batch: number;
  insert(rows: SessionRow[]): Promise<void>;
  close(): Promise<void>;
}

/** Property → column name, from the Drizzle schema, so the seeder follows schema changes. */
const columnsOf = (table: typeof sqliteSessions | typeof pgSessions) =>
  Object.entries(getTableColumns(table)).map(([property, column]) => ({
    property: property as keyof SessionRow,
    name: column.name,
  }));

/**
 * A connection of its own on the SQLite file (WAL, so a running server keeps reading). Its
 * synchronous=OFF only loosens this connection: seeded rows need not survive a power loss.
 * `bulk` (only while no server runs) drops the secondary indexes and builds them again at close:
 * sorting once is several times faster than inserting random hashes into a growing B-tree.
 */
export function sqliteWriter(path: string, { bulk = false } = {}): SeedWriter {
  const db = new Database(path, { strict: true });
  db.run("PRAGMA busy_timeout = 30000");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = OFF");
  // Random hashes land all over the unique index: a big page cache keeps its pages in memory.
  db.run("PRAGMA cache_size = -262144");
  const indexes = bulk
    ? (db
        .query("select name, sql from sqlite_master where type = 'index' and tbl_name = 'sessions' and sql is not null")
        .all() as Array<{ name: string; sql: string }>)
    : [];
  for (const index of indexes) db.run(`drop index "${index.name}"`);
  const columns = columnsOf(sqliteSessions);
  const insert = db.prepare(
    `insert into sessions (${columns.map((c) => c.name).join(",")}) values (${columns.map(() => "?").join(",")})`,
  );
  const insertAll = db.transaction((rows: SessionRow[]) => {
    for (const row of rows) insert.run(...(columns.map((c) => row[c.property]) as never[]));
  });
  return {
    batch: 50_000,
    insert: async (rows) => void insertAll.immediate(rows),
    close: async () => {
      for (const index of indexes) db.run(index.sql);
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      db.close();
    },
  };
}

/** Bun's SQL client, multi-row inserts of 2,000 rows (17 parameters each, under PostgreSQL's 65,535). */
export function postgresWriter(url: string): SeedWriter {
  const sql = new SQL({ url, max: 1 });
  const columns = columnsOf(pgSessions);
  const record = (row: SessionRow) => Object.fromEntries(columns.map((c) => [c.name, row[c.property]]));
  return {
    batch: 2_000,
    insert: async (rows) => void (await sql`insert into sessions ${sql(rows.map(record))}`),
    async close() {
      // Rows seeded in bulk arrive faster than autovacuum's analyze notices them. With the stale
      // statistics, PostgreSQL planned GET /session/me's query as a scan of the expires_at index
      // over every session (4× the time per request); a running database has fresh statistics.
      await sql`analyze sessions`;
      await sql.close();
    },
  };
}

/**
 * Seeds through a store's own createSession (for Redis, whose layout lives in its Lua scripts):
 * slower than the SQL writers, fine for the pools of the workloads.
 */
export function storeWriter(open: () => Promise<SessionStore>): SeedWriter {
  const opened = open();
  const events = eventFactory(() => Bun.randomUUIDv7());
  return {
    batch: 500,
    async insert(rows) {
      const store = await opened;
      await Promise.all(rows.map((row) => store.sessions.create(row, 0, events)));
    },
    close: async () => (await opened).close(),
  };
}

/**
 * Writes `count` sessions; session i belongs to userOf(i) and, with `jktOf`, is bound to the DPoP
 * key jktOf(i). Returns the sessions with their tokens when `keep` is true (memory: ~0.5 KiB
 * each), otherwise an empty list.
 */
export async function seedSessions(
  writer: SeedWriter,
  count: number,
  userOf: (i: number) => string,
  keep: boolean,
  jktOf?: (i: number) => string,
): Promise<SeededSession[]> {
  const kept: SeededSession[] = [];
  const now = Date.now();
  for (let start = 0; start < count; start += writer.batch) {
    const made = Array.from({ length: Math.min(writer.batch, count - start) }, (_, k) =>
      newSession(userOf(start + k), now, jktOf?.(start + k) ?? null),
    );
    await writer.insert(made.map((s) => s.row));
    if (keep) kept.push(...made);
  }
  return kept;
}
