/**
 * A throw-away PostgreSQL database per test run on the local server (127.0.0.1:5432, trust auth).
 * Tests that need PostgreSQL fail, never skip, when it is unreachable: CI must prove the store.
 */
import { SQL } from "bun";
import { startWireCounter, type WireCounter } from "../../bench/pg-wire-counter";

/** The server's maintenance database; TEST_POSTGRES_URL points elsewhere (e.g. to prove the failure). */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  name: string;
  url: string;
  /** A client of its own on the test database, for what the store must not do (holding locks …). */
  connect(): SQL;
  drop(): Promise<void>;
}

async function asAdmin(statement: string): Promise<void> {
  const admin = new SQL({ url: POSTGRES_ADMIN_URL, max: 1, connectionTimeout: 5 });
  try {
    await admin.unsafe(statement);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (/CONNECTION|ECONNREFUSED/.test(code)) {
      throw new Error(
        `PostgreSQL is unreachable at ${new URL(POSTGRES_ADMIN_URL).host}; these tests need it (${code})`,
      );
    }
    throw error;
  } finally {
    await admin.close();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `session_test_${Bun.randomUUIDv7().replaceAll("-", "").slice(-16)}`;
  await asAdmin(`create database "${name}"`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    connect: () => new SQL({ url: url.toString(), database: name, max: 1, connectionTimeout: 5 }),
    // WITH (FORCE) ends connections a failed test left open, so the drop never hangs.
    drop: () => asAdmin(`drop database if exists "${name}" with (force)`),
  };
}

export interface CountedTestDatabase {
  database: TestDatabase;
  /** Counts the traffic of every connection made to `url`. */
  counter: WireCounter;
  /** The test database through the counter (`database.url` goes straight to PostgreSQL). */
  url: string;
  close(): Promise<void>;
}

/** A throw-away database behind the benchmark's wire counter (bench/pg-wire-counter.ts). */
export async function countedTestDatabase(): Promise<CountedTestDatabase> {
  const database = await createTestDatabase();
  const counter = await startWireCounter(Number(new URL(database.url).port || 5432));
  return {
    database,
    counter,
    url: `postgres://postgres@127.0.0.1:${counter.port}/${database.name}`,
    close: async () => {
      await counter.close();
      await database.drop();
    },
  };
}
