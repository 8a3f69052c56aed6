/**
 * One pool of Bun's PostgreSQL client with what every PostgreSQL repository shares: the
 * connection settings, the Drizzle handle (drizzle-orm/bun-sql), and the two ways in —
 * `transaction` (one READ COMMITTED transaction on a connection of its own) and `statement` (work
 * on the pool in autocommit: a single statement is atomic by itself). Store failures (a lock or
 * statement timeout, a lost connection, a read-only server) surface as ServiceError("unavailable").
 */
import { SQL, type TransactionSQL } from "bun";
import { drizzle } from "drizzle-orm/bun-sql";
import { ServiceError } from "../../server/core/errors";
import { toUnavailable } from "./errors";
import * as schema from "./schema";

export interface PostgresSettings {
  url: string;
  /** Read-only sessionctl commands: every transaction of the pool is read-only, so nothing can be written. */
  readOnly?: boolean;
  poolSize?: number;
  /** How long a statement waits for a row or advisory lock before the request answers 503. */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/**
 * The database named in the URL. Passed explicitly because the client would let PGDATABASE
 * override the URL's database, and tests point each run at a fresh database of their own.
 */
export function databaseOf(url: string): string | undefined {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  return name === "" ? undefined : name;
}

export interface ConnectOptions {
  max: number;
  /** Run-time parameters sent when each connection opens (lock_timeout, statement_timeout …). */
  params: Record<string, string | number>;
  connectTimeoutSeconds: number;
}

/** A pool of Bun's SQL client on the URL's database. */
export function connect(url: string, options: ConnectOptions): SQL {
  return new SQL({
    url,
    database: databaseOf(url),
    max: options.max,
    connection: options.params,
    connectionTimeout: options.connectTimeoutSeconds,
    // Idle connections are dropped so a restarted server or a failover is not met with stale sockets.
    idleTimeout: 60,
  });
}

export class PostgresDatabase {
  readonly client: SQL;
  readonly db;
  private readonly callDeadlineMs: number;

  constructor(settings: PostgresSettings) {
    const statementTimeout = settings.statementTimeoutMs ?? 5000;
    // The server's own timeouts answer first whenever it runs; this one only when it does not.
    this.callDeadlineMs = statementTimeout + 1000;
    this.client = connect(settings.url, {
      max: settings.poolSize ?? 10,
      params: {
        lock_timeout: settings.lockTimeoutMs ?? 2000,
        statement_timeout: statementTimeout,
        // A process stalled inside a transaction must not hold row or user locks for long.
        idle_in_transaction_session_timeout: Math.max(10_000, 2 * statementTimeout),
        application_name: "session-service",
        ...(settings.readOnly ? { default_transaction_read_only: "on" } : {}),
      },
      connectTimeoutSeconds: 5,
    });
    this.db = drizzle({ client: this.client, schema });
  }

  /**
   * One transaction: committed when `body` resolves, rolled back when it throws. Once its deadline
   * passed (the caller was answered 503), a body that only now gets its connection or its answer
   * throws instead of returning, so the transaction rolls back rather than commits late.
   */
  async transaction<T>(body: (tx: TransactionSQL) => Promise<T>): Promise<T> {
    return this.withDeadline(async (givenUp) => {
      const fenced = async (tx: TransactionSQL) => {
        if (givenUp()) throw new ServiceError("unavailable");
        const result = await body(tx);
        if (givenUp()) throw new ServiceError("unavailable");
        return result;
      };
      return (await this.client.begin(fenced)) as T;
    });
  }

  /** Work in autocommit on the pool: each statement commits on its own. */
  async statement<T>(body: () => Promise<T>): Promise<T> {
    return this.withDeadline(body);
  }

  /**
   * A server that stops answering without closing its sockets (frozen, a stalled disk, a paused
   * VM) never fires its own statement_timeout: each call gets a deadline of the client's own,
   * a little longer than the statement timeout, after which it answers unavailable. The call
   * itself cannot be taken back; it finishes or fails once the server answers again.
   */
  private async withDeadline<T>(work: (givenUp: () => boolean) => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expired = false;
    // Awaited once inside a real promise: a Drizzle query builder is a lazy thenable that runs its
    // statement again on every then/catch, so the catch below would have sent each one twice.
    const pending = (async () => await work(() => expired))();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(new ServiceError("unavailable"));
      }, this.callDeadlineMs);
    });
    try {
      return await Promise.race([pending, deadline]);
    } catch (error) {
      throw toUnavailable(error);
    } finally {
      clearTimeout(timer);
      // A call given up on may still fail later; nobody awaits it any more.
      pending.catch(() => {});
    }
  }

  /** Gives queries in flight a moment to finish (SIGTERM drains requests before closing the store). */
  close(): Promise<void> {
    return this.client.close({ timeout: 5 });
  }
}

export type PgDb = PostgresDatabase["db"];
