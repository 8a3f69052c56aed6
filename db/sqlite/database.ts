/**
 * One bun:sqlite connection with what every SQLite repository shares: the pragmas, the Drizzle
 * handle, and the two ways in — `write` (one synchronous BEGIN IMMEDIATE transaction joined to
 * the group commit: an async callback would commit at its first await) and `read`. Store failures
 * (busy past the timeout, disk full, read-only) surface as ServiceError("unavailable").
 */
import { Database } from "bun:sqlite";
import { chmodSync, existsSync } from "node:fs";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { toUnavailable } from "./errors";
import { GroupCommit } from "./group-commit";
import * as schema from "./schema";
import { type SyncFile, WalSync } from "./wal-sync";

export interface SqliteSettings {
  path: string;
  synchronous: "FULL" | "NORMAL";
  busyTimeoutMs: number;
  /** Open without writing anything (read-only sessionctl commands): no file is created. */
  readOnly?: boolean;
}

/** Files the service creates are private whatever the umask (CONTRACT §8): the database and its WAL companions. */
function makePrivate(path: string): void {
  if (path === ":memory:") return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}

/**
 * A connection whose close() really closes. SQLite only closes a connection once every prepared
 * statement is finalized; until then the connection lingers as a "zombie" and is closed later by
 * the garbage collector — and the last connection to close checkpoints and truncates the WAL. So a
 * process that had "closed" its store could still write the database file at any later moment.
 * Every statement prepared here (ours and Drizzle's) is therefore finalized by close().
 */
function closingConnection(path: string, options: ConstructorParameters<typeof Database>[1]): Database {
  const client = new Database(path, options);
  const statements: Array<{ finalize(): void }> = [];
  const prepare = client.prepare.bind(client);
  client.prepare = ((...args: Parameters<typeof prepare>) => {
    const statement = prepare(...args);
    statements.push(statement);
    return statement;
  }) as typeof client.prepare;
  const close = client.close.bind(client);
  client.close = (throwOnError?: boolean) => {
    for (const statement of statements.splice(0)) statement.finalize();
    close(throwOnError);
  };
  return client;
}

export function openConnection(settings: SqliteSettings): Database {
  const client = settings.readOnly
    ? closingConnection(settings.path, { readonly: true, strict: true })
    : closingConnection(settings.path, { create: true, strict: true });
  client.run(`PRAGMA busy_timeout = ${Math.floor(settings.busyTimeoutMs)}`);
  if (!settings.readOnly) {
    client.run("PRAGMA journal_mode = WAL");
    client.run(`PRAGMA synchronous = ${settings.synchronous}`);
    makePrivate(settings.path);
  }
  return client;
}

export class SqliteDatabase {
  readonly client: Database;
  readonly db;
  private readonly commits: GroupCommit;
  private walSync: WalSync | null = null;

  constructor(private readonly settings: SqliteSettings) {
    this.client = openConnection(settings);
    this.db = drizzle(this.client, { schema });
    this.commits = new GroupCommit(this.client);
  }

  /**
   * With `synchronous=FULL`, from now on the WAL's sync after each group commit runs in the thread
   * pool instead of inside COMMIT (wal-sync.ts). Called once the migrations, committed the plain
   * FULL way, are done. Nothing changes for NORMAL, read-only and in-memory databases.
   */
  syncOffTheEventLoop(syncFile?: SyncFile): void {
    const { synchronous, readOnly, path } = this.settings;
    if (synchronous !== "FULL" || readOnly || path === ":memory:" || this.walSync) return;
    this.walSync = new WalSync(path, syncFile);
    this.client.run("PRAGMA synchronous = NORMAL");
    this.commits.walSync = this.walSync;
  }

  write<T>(body: () => T): Promise<T> {
    return this.commits.run(body);
  }

  /** Runs a read; while a commit's sync is in flight its answer waits for it (nothing undurable is revealed). */
  read<T>(body: () => T): T | Promise<T> {
    let value: T;
    try {
      this.walSync?.checkHealthy();
      value = body();
    } catch (error) {
      throw toUnavailable(error);
    }
    return this.walSync ? this.walSync.afterSync(value) : value;
  }

  close(): void {
    this.client.close();
    this.walSync?.close();
  }
}

export type SqliteDb = SqliteDatabase["db"];
