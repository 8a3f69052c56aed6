/**
 * Helpers for the sessionctl tests: run the real CLI as a child process on a SQLite file in a
 * temporary folder, and open the same file in-process (core with a fake clock, or read-only SQL)
 * to seed it and to check what the CLI did.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { type Core, openCore } from "../../server/open-core";
import { FakeClock, SECRET_KEY, testConfig } from "../support/core";
import { type ProcessResult, runProcess } from "../support/process";
import { PROJECT_ROOT } from "../support/server";

export type CliResult = ProcessResult;

/** The settings a CLI run gets: the same store and SECRET_KEY as the test server, nothing else. */
export function cliEnv(dir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    DATABASE_URL: `sqlite:${join(dir, "sessions.db")}`,
    SECRET_KEY,
    ...env,
  };
}

export function sessionctl(dir: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { PATH: _path, HOME: _home, ...settings } = cliEnv(dir, env);
  return runProcess(["bun", "cli/main.ts", ...args], PROJECT_ROOT, settings);
}

/** sessionctl … --json, parsed; fails the test with the CLI's stderr when it did not exit 0. */
export async function sessionctlJson<T = any>(dir: string, args: string[]): Promise<T> {
  const result = await sessionctl(dir, [...args, "--json"]);
  if (result.code !== 0) throw new Error(`sessionctl ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** The core in-process on the same file, with a clock the test moves (to make sessions old). */
export async function openCoreAt(dir: string, clock: FakeClock = new FakeClock(Date.now())): Promise<Core> {
  return openCore(testConfig(dir), { role: "server", clock });
}

/** A store as the server leaves it after its first start (migrated, with its first signing key). */
export async function startedByServer(dir: string): Promise<string> {
  await (await openCoreAt(dir)).close();
  return dir;
}

/** Read-only SQL on the store, to check rows without going through the code under test. */
export function readStore<T>(dir: string, query: (db: Database) => T): T {
  const db = new Database(join(dir, "sessions.db"), { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

export const countRows = (dir: string, table: string, where = "1") =>
  readStore(dir, (db) => (db.query(`select count(*) as n from ${table} where ${where}`).get() as { n: number }).n);

export interface OutboxEvent {
  subject: string;
  sentAt: number | null;
  event: { type: string; subject: string; data: Record<string, unknown> };
}

export const outboxEvents = (dir: string): OutboxEvent[] =>
  readStore(dir, (db) =>
    (
      db.query("select subject, sent_at as sentAt, payload from outbox order by seq").all() as Array<{
        subject: string;
        sentAt: number | null;
        payload: string;
      }>
    ).map((row) => ({ subject: row.subject, sentAt: row.sentAt, event: JSON.parse(row.payload) })),
  );

export const DAY = 86_400_000;
