/**
 * PostgreSQL-only behaviour, with no SQLite counterpart: lock timeouts and lost connections answer
 * ServiceError("unavailable") (never a raw driver error), several instances may migrate one database
 * at once, an old database is migrated with its data, read-only opening writes nothing, openStore
 * picks this store from the URL, and the schema matches SQLite's. bench/pg-driver.ts puts the
 * other driver through the same connection loss (see the README, PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SQL } from "bun";
import { drizzle } from "drizzle-orm/bun-sql";
import { migrate } from "drizzle-orm/bun-sql/migrator";
import { getTableConfig as pgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTable } from "drizzle-orm/sqlite-core";
import { openStore } from "../../db/open-store";
import { PostgresDatabase } from "../../db/postgres/database";
import { PG_MIGRATIONS } from "../../db/postgres/migrate";
import * as pgSchema from "../../db/postgres/schema";
import { openPostgresStore } from "../../db/postgres/store";
import { SqliteDatabase } from "../../db/sqlite/database";
import * as sqliteSchema from "../../db/sqlite/schema";
import { ServiceError } from "../../server/core/errors";
import { TempDirs, testConfig } from "../support/core";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { create, events, newRow, newUser, rotateOk, rotation, SECOND, T0 } from "./contract/fixtures";

// Bun 1.4 ignores bunfig's [test] timeout and allows 5 s; these tests create databases and wait on locks.
setDefaultTimeout(30_000);

let database: TestDatabase;
let admin: SQL;
const dirs = new TempDirs();

beforeAll(async () => {
  database = await createTestDatabase();
  admin = database.connect();
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
  dirs.removeAll();
});

/** The error a call rejected with, or null when it resolved. */
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

const expectUnavailable = (error: unknown) => {
  expect(error).toBeInstanceOf(ServiceError);
  expect((error as ServiceError).code).toBe("unavailable");
};

/** A fresh database, given to `body` and dropped afterwards. */
async function withFreshDatabase(body: (fresh: TestDatabase, sql: SQL) => Promise<void>): Promise<void> {
  const fresh = await createTestDatabase();
  const sql = fresh.connect();
  try {
    await body(fresh, sql);
  } finally {
    await sql.close();
    await fresh.drop();
  }
}

/** Applies only the first `count` migrations of this build, as an older version of the service would have. */
async function migrateTo(sql: SQL, count: number): Promise<void> {
  const folder = join(dirs.make(), "migrations");
  mkdirSync(join(folder, "meta"), { recursive: true });
  const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, "meta/_journal.json"), "utf8"));
  journal.entries = journal.entries.slice(0, count);
  writeFileSync(join(folder, "meta/_journal.json"), JSON.stringify(journal));
  for (const entry of journal.entries)
    cpSync(join(PG_MIGRATIONS, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`));
  await migrate(drizzle({ client: sql }), { migrationsFolder: folder });
}

describe("faults", () => {
  test("changes waiting on a locked row time out as unavailable, and leave nothing half-done", async () => {
    const store = await openPostgresStore({ url: database.url, lockTimeoutMs: 200 });
    try {
      const user = newUser();
      const row = await create(store, user);
      const proof = { jti: `jti-${crypto.randomUUID()}`, expiresAt: T0 + 60 * SECOND };
      await admin.begin(async (tx) => {
        await tx`select 1 from sessions where session_id = ${row.sessionId} for update`;
        const started = performance.now();
        expectUnavailable(await failure(store.sessions.rotate(rotation(row, T0 + 1))));
        expect(performance.now() - started).toBeLessThan(3000);
        expectUnavailable(await failure(store.sessions.rotate(rotation(row, T0 + 1, { proof }))));
        expectUnavailable(await failure(store.sessions.revokeSession(row.sessionId, user, "logout", T0 + 1, events)));
        expectUnavailable(await failure(store.sessions.revokeUserSessions(user, "logout_all", T0 + 1, events)));
        expectUnavailable(await failure(store.sessions.deleteUser(user, T0 + 1, events)));
        expectUnavailable(await failure(store.sessions.create(newRow(user, T0 + 1), 1, events)));
        // Plain reads take no row lock and keep working.
        expect(await store.sessions.findActiveSession(row.sessionId, T0 + 1)).toEqual(row);
      });
      expect(await store.sessions.findSession(row.sessionId)).toEqual(row);
      expect((await store.outbox.pendingEvents(100)).map((e) => e.subject)).toEqual(["session.created"]);
      expect(await store.sessions.create(newRow(user, T0 + 2), 100, events)).not.toBeNull(); // no deleted mark
      // The timed-out proof's jti was not kept: the proof still authorises the rotation.
      expect(await store.sessions.rotate(rotation(row, T0 + 2, { proof }))).toMatchObject({ rotationCount: 1 });
    } finally {
      await store.close();
    }
  });

  test("lost connections answer unavailable or reconnect, never a raw error; the store recovers", async () => {
    const store = await openPostgresStore({ url: database.url });
    try {
      const row = await create(store, newUser());
      await Promise.all(Array.from({ length: 5 }, () => store.sessions.findActiveSession(row.sessionId, T0))); // open several pooled connections
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database.name} and application_name = 'session-service'`;
      const outcomes = await Promise.all([
        failure(store.sessions.findActiveSession(row.sessionId, T0)),
        failure(store.sessions.rotate(rotation({ ...row, refreshTokenHash: "hash-unknown" }, T0 + 1))),
        failure(store.sessions.revokeUserSessions(newUser(), "logout_all", T0 + 1, events)),
        failure(store.admin.stats(T0)),
        failure(store.checkWritable()),
      ]);
      for (const outcome of outcomes) if (outcome !== null) expectUnavailable(outcome);
      let recovered = false;
      for (let attempt = 0; attempt < 20 && !recovered; attempt++) {
        const outcome = await failure(store.sessions.findActiveSession(row.sessionId, T0));
        if (outcome === null) recovered = true;
        else {
          expectUnavailable(outcome);
          await Bun.sleep(100);
        }
      }
      expect(recovered).toBe(true);
      await rotateOk(store, row, T0 + 2);
    } finally {
      await store.close();
    }
  });
});

describe("startup", () => {
  test("several instances migrating one fresh database at once all start, and migrate it once", async () => {
    await withFreshDatabase(async (fresh, sql) => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url: fresh.url })));
      await Promise.all(stores.map((s) => s.close()));
      const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      const files = JSON.parse(readFileSync(join(PG_MIGRATIONS, "meta/_journal.json"), "utf8")).entries.length;
      expect(applied[0].n).toBe(files);
    });
  });

  test("an older database is migrated: keys without a MAC are deleted, old sessions get an empty MAC (never intact)", async () => {
    await withFreshDatabase(async (fresh, sql) => {
      await migrateTo(sql, 1);
      await sql`insert into signing_keys (kid, alg, public_jwk, private_key_encrypted, created_at, activates_at)
                values ('old-key', 'EdDSA', '{}', 'sealed', ${T0}, ${T0})`;
      await sql`insert into sessions (session_id, user_id, refresh_token_hash, created_at, last_used_at,
                  absolute_expires_at, expires_at, access_expires_at)
                values ('old-session', 'alice', 'old-hash', ${T0}, ${T0}, ${T0 + 1}, ${T0 + 1}, ${T0 + 1})`;
      await sql`insert into retired_refresh_tokens (token_hash, session_id) values ('older-hash', 'old-session')`;
      const store = await openPostgresStore({ url: fresh.url });
      try {
        expect(await store.signingKeys.listSigningKeys()).toEqual([]);
        expect(await store.sessions.findSession("old-session")).toMatchObject({ userId: "alice", mac: "", name: null });
      } finally {
        await store.close();
      }
      const [retired] = await sql`select to_regclass('retired_refresh_tokens') is null as gone`;
      expect(retired.gone).toBe(true);
      const indexes = await sql`select indexname from pg_indexes where tablename = 'sessions' order by indexname`;
      expect(indexes.map((i: { indexname: string }) => i.indexname)).toEqual([
        "sessions_expires_at",
        "sessions_live_by_user",
        "sessions_pkey",
        "sessions_revoked_at",
        "sessions_user_created",
      ]);
    });
  });

  test("an unreachable server is unavailable, with no detail of the URL", async () => {
    for (const readOnly of [false, true]) {
      const url = "postgres://postgres:secret-password@127.0.0.1:1/nothing";
      const error = await failure(openPostgresStore({ url, readOnly }));
      expectUnavailable(error);
      expect(String((error as Error).message)).not.toContain("secret-password");
    }
  });

  test("openStore selects PostgreSQL for postgres:// and postgresql:// URLs, SQLite otherwise", async () => {
    const dir = dirs.make();
    for (const url of [database.url, database.url.replace(/^postgres:/, "postgresql:")]) {
      const store = await openStore(testConfig(dir, { DATABASE_URL: url }));
      expect((store as unknown as { database: unknown }).database).toBeInstanceOf(PostgresDatabase);
      await store.close();
    }
    const sqlite = await openStore(testConfig(dir));
    expect((sqlite as unknown as { database: unknown }).database).toBeInstanceOf(SqliteDatabase);
    await sqlite.close();
  });
});

describe("read-only opening (read-only sessionctl commands)", () => {
  test("reads a migrated store and refuses every write as unavailable, changing nothing", async () => {
    const writer = await openPostgresStore({ url: database.url });
    const user = newUser();
    const row = await create(writer, user);
    await writer.close();
    const before = await admin`select count(*)::int as n from outbox`;
    const store = await openPostgresStore({ url: database.url, readOnly: true });
    try {
      expect(await store.sessions.findSession(row.sessionId)).toEqual(row);
      expect((await store.admin.listSessions({ userId: user }, T0)).map((r) => r.sessionId)).toEqual([row.sessionId]);
      expectUnavailable(await failure(store.sessions.create(newRow(user, T0 + 1), 100, events)));
      expectUnavailable(await failure(store.sessions.revokeSession(row.sessionId, null, "admin", T0 + 1, events)));
      expectUnavailable(await failure(store.sessions.rotate(rotation(row, T0 + 1))));
      expectUnavailable(await failure(store.leases.acquireLease("relay", "cli", 1000, T0)));
      expectUnavailable(await failure(store.checkWritable()));
    } finally {
      await store.close();
    }
    expect(await admin`select count(*)::int as n from outbox`).toEqual(before);
    expect(
      (await admin`select revoked_at, rotation_count from sessions where session_id = ${row.sessionId}`)[0],
    ).toEqual({ revoked_at: null, rotation_count: 0 });
  });

  test("on a database without the store, or with a migration pending, refuses with a clear message and migrates nothing", async () => {
    await withFreshDatabase(async (fresh, sql) => {
      const empty = await failure(openPostgresStore({ url: fresh.url, readOnly: true }));
      expect((empty as Error).message).toContain("no session store yet");
      const [nothing] =
        await sql`select to_regnamespace('drizzle') is null as none, to_regclass('sessions') is null as no_table`;
      expect(nothing).toEqual({ none: true, no_table: true });

      await migrateTo(sql, 1);
      const old = await failure(openPostgresStore({ url: fresh.url, readOnly: true }));
      expect((old as Error).message).toContain("run sessionctl migrate");
      const [applied] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied.n).toBe(1);
    });
  });
});

describe("schema", () => {
  /** A dialect-neutral description of a table: what the store relies on. */
  const shape = (config: ReturnType<typeof pgTable> | ReturnType<typeof sqliteTable>) => ({
    name: config.name,
    columns: config.columns
      .map((c) => ({
        name: c.name,
        notNull: c.notNull,
        primary: c.primary,
        unique: c.isUnique,
        hasDefault: c.hasDefault,
        type: c.dataType,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: config.indexes
      .map((i) => ({
        name: i.config.name ?? "",
        unique: i.config.unique,
        on: i.config.columns.map((c) => (c as { name: string }).name),
        partial: i.config.where !== undefined,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  });

  test("has the same tables, columns and indexes as the SQLite schema", () => {
    const names = Object.keys(sqliteSchema).sort();
    expect(Object.keys(pgSchema).sort()).toEqual(names);
    for (const name of names) {
      const sqlite = shape(sqliteTable((sqliteSchema as any)[name]));
      const pg = shape(pgTable((pgSchema as any)[name]));
      expect(pg).toEqual(sqlite);
    }
  });
});
