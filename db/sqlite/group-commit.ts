/**
 * Group commit for SQLite. The writes that arrive while the event loop is busy are run together in
 * one `BEGIN IMMEDIATE` transaction, each inside its own savepoint, and committed with one fsync:
 * with `synchronous=FULL` the fsync of every commit, done on the event loop, was what bounded
 * refresh, create and logout. Each write stays synchronous and atomic (its savepoint rolls back
 * alone if it fails), and no caller hears of its result before the COMMIT has returned, so a
 * logout still never answers 2xx unless its revocation is committed — and, with `synchronous=FULL`,
 * on disk: then the batch's callers hear only after the WAL's fdatasync (wal-sync.ts).
 */
import type { Database } from "bun:sqlite";
import { toUnavailable } from "./errors";
import type { WalSync } from "./wal-sync";

interface Job {
  body: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Enough to amortise the fsync, few enough that one transaction never holds the lock for long. */
const MAX_BATCH = 256;

export class GroupCommit {
  private queue: Job[] = [];
  private scheduled = false;
  // Prepared once: every write runs SAVEPOINT and RELEASE, and parsing them each time showed in profiles.
  private readonly begin;
  private readonly savepoint;
  private readonly release;
  private readonly commitBatch;
  /** Set for `synchronous=FULL` once the store is open: the sync each batch waits for. */
  walSync: WalSync | null = null;

  constructor(private readonly client: Database) {
    this.begin = client.prepare("BEGIN IMMEDIATE");
    this.savepoint = client.prepare("SAVEPOINT job");
    this.release = client.prepare("RELEASE job");
    this.commitBatch = client.prepare("COMMIT");
  }

  run<T>(body: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ body, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O callbacks of this turn: every request that is ready joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) this.commit(this.queue.splice(0, MAX_BATCH));
  }

  private commit(batch: Job[]): void {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.walSync?.checkHealthy();
      this.begin.run();
    } catch (error) {
      this.fail(batch, error);
      return;
    }
    for (const job of batch) {
      this.savepoint.run();
      try {
        outcomes.push({ ok: true, value: job.body() });
        this.release.run();
      } catch (error) {
        // Only this write is undone, unless SQLite already rolled the whole transaction back
        // (disk full, I/O error): then nothing of the batch is committed and every caller hears it.
        if (!this.undo("ROLLBACK TO job", "RELEASE job")) {
          this.fail(batch, error);
          return;
        }
        outcomes.push({ ok: false, error: toUnavailable(error) });
      }
    }
    try {
      this.commitBatch.run();
    } catch (error) {
      this.undo("ROLLBACK");
      this.fail(batch, error);
      return;
    }
    const answer = () =>
      batch.forEach((job, i) => {
        const outcome = outcomes[i];
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
    if (this.walSync === null) answer();
    else
      this.walSync.afterCommit().then(answer, (error) => {
        this.fail(batch, error);
      });
  }

  /** Runs the statements; false when SQLite no longer has the transaction or savepoint to undo. */
  private undo(...statements: string[]): boolean {
    try {
      for (const statement of statements) this.client.run(statement);
      return true;
    } catch {
      if (this.client.inTransaction) this.client.run("ROLLBACK");
      return false;
    }
  }

  private fail(batch: Job[], error: unknown): void {
    for (const job of batch) job.reject(toUnavailable(error));
  }
}
