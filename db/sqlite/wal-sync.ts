/**
 * `synchronous=FULL` without blocking the event loop. With FULL, SQLite fsyncs the WAL inside
 * every COMMIT, on the JavaScript thread: every request that arrives meanwhile waits behind that
 * fsync (1–6 ms on this disk). Here the connection runs `synchronous=NORMAL`, which is FULL minus
 * exactly that sync of the WAL after each commit, and this class does that sync itself with
 * `fdatasync` in the thread pool, once per group commit, while the loop serves other requests.
 *
 * Durability stays FULL's: no write is answered before the fdatasync that covers its COMMIT has
 * returned, and no read is answered while a sync is in flight (`afterSync`), so neither an answer nor
 * an event relayed from the outbox ever reveals a write that a power loss could still undo.
 * If an fdatasync fails, the kernel may have dropped the dirty pages it could not write: the
 * database then fails closed (every later read and write answers unavailable) until the process
 * restarts and SQLite recovers from what is on disk.
 */
import { closeSync, fdatasync, fsync, openSync } from "node:fs";
import { dirname } from "node:path";
import { ServiceError } from "../../server/core/errors";

/** `fdatasync`'s shape; a test passes a slower or failing one to prove the ordering. */
export type SyncFile = (fd: number, done: (error: Error | null) => void) => void;

export class WalSync {
  private walFd: number | null = null;
  /** The sync running now, and the one that covers the commits made since it started. */
  private running: Promise<void> | null = null;
  private queued: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null = null;
  private failure: unknown = null;

  constructor(
    private readonly databasePath: string,
    private readonly syncFile: SyncFile = fdatasync,
  ) {}

  /**
   * Resolves once everything committed so far is on disk. Call right after a COMMIT returned. One
   * sync runs at a time: commits made meanwhile share the next one, which starts when it ends. So
   * a sync's outcome is known before the next begins, and an error the kernel reports to one of two
   * overlapping syncs of one descriptor cannot leave the other one's callers answered.
   */
  afterCommit(): Promise<void> {
    if (this.failure) return Promise.reject(new ServiceError("unavailable"));
    if (this.running === null) return this.start();
    if (this.queued === null) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      this.queued = { promise, resolve, reject };
    }
    return this.queued.promise;
  }

  /** A read's result, given out only once no sync is in flight over what it may have seen. */
  afterSync<T>(value: T): T | Promise<T> {
    this.checkHealthy();
    const covering = this.queued?.promise ?? this.running;
    if (covering === null) return value;
    return covering.then(() => {
      this.checkHealthy();
      return value;
    });
  }

  /** Throws unavailable once a sync has failed: the file's state on disk is no longer known. */
  checkHealthy(): void {
    if (this.failure) throw new ServiceError("unavailable");
  }

  /** Closes the WAL's descriptor after the syncs in flight (its number must not be reused under them). */
  close(): void {
    const fd = this.walFd;
    this.walFd = null;
    if (fd === null) return;
    const last = this.queued?.promise ?? this.running;
    if (last) void last.catch(() => undefined).then(() => closeSync(fd));
    else closeSync(fd);
  }

  private start(): Promise<void> {
    const running = this.sync().then(
      () => this.finished(null),
      (error: unknown) => {
        this.finished(error);
        throw new ServiceError("unavailable");
      },
    );
    this.running = running;
    return running;
  }

  private finished(error: unknown): void {
    this.running = null;
    if (error) this.failure ??= error;
    const queued = this.queued;
    this.queued = null;
    if (!queued) return;
    if (this.failure) queued.reject(new ServiceError("unavailable"));
    else this.start().then(queued.resolve, queued.reject);
  }

  private sync(): Promise<void> {
    try {
      const first = this.walFd === null;
      // Opened at the first commit: the -wal file exists from then on, and SQLite only deletes it
      // when the last connection closes, which this one is not while the store is open.
      this.walFd ??= openSync(`${this.databasePath}-wal`, "r+");
      const wal = promised(this.syncFile, this.walFd);
      // As SQLite does on the first sync of a WAL it created: its directory entry is made durable too.
      return first ? Promise.all([wal, syncDirectory(this.databasePath)]).then(() => undefined) : wal;
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function promised(syncFile: SyncFile, fd: number): Promise<void> {
  return new Promise((resolve, reject) => syncFile(fd, (error) => (error ? reject(error) : resolve())));
}

function syncDirectory(databasePath: string): Promise<void> {
  const fd = openSync(dirname(databasePath), "r");
  return new Promise<void>((resolve, reject) =>
    fsync(fd, (error) => {
      closeSync(fd);
      if (error) reject(error);
      else resolve();
    }),
  );
}
