/**
 * PostgreSQL-only behaviour, with no SQLite counterpart: lock timeouts and lost connections answer
 * ServiceError("unavailable") (never a raw driver error), several instances may migrate one database
 * at once, openStore picks this store from the URL, and the schema matches SQLite's. The faults run
 * on the store's default driver; db/postgres/bench-driver.ts puts the other one through the same
 * connection loss (see the README, PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { SQL } from "bun";
import { getTableConfig as pgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTable } from "drizzle-orm/sqlite-core";
import * as pgSchema from "../../db/postgres/schema";
import { PostgresStore } from "../../db/postgres/store";
import * as sqliteSchema from "../../db/sqlite/schema";
import { SqliteStore } from "../../db/sqlite/store";
import { ServiceError } from "../../server/core/errors";
import { openStore } from "../../server/open-core";
import { tempDir, testConfig } from "../support/core";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { create, events, newUser, rotateInput, T0 } from "./contract/fixtures";

// Bun 1.4 ignores bunfig's [test] timeout and allows 5 s; these tests create databases and wait on locks.
setDefaultTimeout(30_000);

let database: TestDatabase;
let admin: SQL;

beforeAll(async () => {
  database = await createTestDatabase();
  admin = database.connect();
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
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

describe("faults", () => {
  test("a rotation waiting on a locked row times out as unavailable, and leaves nothing half-done", async () => {
    const store = await PostgresStore.open({ url: database.url, lockTimeoutMs: 200 });
    try {
      const user = newUser();
      const row = await create(store, user);
      await admin.begin(async (tx) => {
        await tx`select 1 from sessions where session_id = ${row.sessionId} for update`;
        const started = performance.now();
        expectUnavailable(await failure(store.rotate(rotateInput(row.refreshTokenHash, T0 + 1), events)));
        expect(performance.now() - started).toBeLessThan(3000);
        expectUnavailable(await failure(store.revokeSession(row.sessionId, user, "logout", T0 + 1, events)));
        expectUnavailable(await failure(store.revokeUserSessions(user, "logout_all", T0 + 1, events)));
        // Plain reads take no row lock and keep working.
        expect(await store.findActiveByTokenHash(row.refreshTokenHash, T0 + 1)).toEqual(row);
      });
      expect(await store.findSession(row.sessionId)).toEqual(row);
      expect((await store.rotate(rotateInput(row.refreshTokenHash, T0 + 2), events)).kind).toBe("rotated");
    } finally {
      await store.close();
    }
  });

  test("lost connections answer unavailable or reconnect, never a raw error; the store recovers", async () => {
    const store = await PostgresStore.open({ url: database.url });
    try {
      const row = await create(store, newUser());
      await Promise.all(Array.from({ length: 5 }, () => store.findActiveByTokenHash(row.refreshTokenHash, T0))); // open several pooled connections
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database.name} and application_name = 'session-service'`;
      const outcomes = await Promise.all([
        failure(store.findActiveByTokenHash(row.refreshTokenHash, T0)),
        failure(store.rotate(rotateInput("hash-unknown", T0 + 1), events)),
        failure(store.revokeUserSessions(newUser(), "logout_all", T0 + 1, events)),
        failure(store.checkWritable()),
      ]);
      for (const outcome of outcomes) if (outcome !== null) expectUnavailable(outcome);
      let recovered = false;
      for (let attempt = 0; attempt < 20 && !recovered; attempt++) {
        const outcome = await failure(store.findActiveByTokenHash(row.refreshTokenHash, T0));
        if (outcome === null) recovered = true;
        else {
          expectUnavailable(outcome);
          await Bun.sleep(100);
        }
      }
      expect(recovered).toBe(true);
      expect((await store.rotate(rotateInput(row.refreshTokenHash, T0 + 2), events)).kind).toBe("rotated");
    } finally {
      await store.close();
    }
  });
});

describe("startup", () => {
  test("several instances migrating one fresh database at once all start, and migrate it once", async () => {
    const fresh = await createTestDatabase();
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open({ url: fresh.url })));
      await Promise.all(stores.map((s) => s.close()));
      const check = fresh.connect();
      try {
        const applied = await check`select count(*)::int as n from drizzle.__drizzle_migrations`;
        const files = (
          await Bun.file(new URL("../../db/postgres/migrations/meta/_journal.json", import.meta.url)).json()
        ).entries.length;
        expect(applied[0].n).toBe(files);
      } finally {
        await check.close();
      }
    } finally {
      await fresh.drop();
    }
  });

  test("an unreachable server is unavailable, with no detail of the URL", async () => {
    const error = await failure(PostgresStore.open({ url: "postgres://postgres:secret-password@127.0.0.1:1/nothing" }));
    expectUnavailable(error);
    expect(String((error as Error).message)).not.toContain("secret-password");
  });

  test("openStore selects PostgreSQL for postgres:// and postgresql:// URLs, SQLite otherwise", async () => {
    const dir = tempDir();
    for (const url of [database.url, database.url.replace(/^postgres:/, "postgresql:")]) {
      const store = await openStore(testConfig(dir, { DATABASE_URL: url }));
      expect(store).toBeInstanceOf(PostgresStore);
      await store.close();
    }
    const sqlite = await openStore(testConfig(dir));
    expect(sqlite).toBeInstanceOf(SqliteStore);
    await sqlite.close();
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
