/**
 * One Bun RedisClient (commands are pipelined on it), with the behaviour the store needs:
 * - no offline queue and no background reconnect loop: while Redis is away a call fails at once
 *   with "unavailable", and the next call after a short pause tries to connect again;
 * - a deadline per command: a server that stops answering (paused, partitioned) costs a request
 *   at most `commandTimeoutMs`, then the connection is dropped so the next call starts afresh.
 */
import { RedisClient } from "bun";
import { ServiceError } from "../../server/core/errors";
import { toUnavailable } from "./errors";

export interface ConnectionOptions {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** After a failed connect, calls fail without trying again for this long. */
  reconnectPauseMs: number;
}

export class RedisConnection {
  private readonly client: RedisClient;
  private connecting: Promise<void> | null = null;
  private failedAt = 0;
  private closed = false;

  constructor(
    url: string,
    private readonly options: ConnectionOptions,
  ) {
    this.client = new RedisClient(url, {
      autoReconnect: false,
      enableOfflineQueue: false,
      connectionTimeout: options.connectTimeoutMs,
    });
  }

  /** Sends one command; store failures become ServiceError("unavailable"). */
  async send(command: string, args: string[]): Promise<unknown> {
    if (!this.client.connected) await this.connect();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.client.close();
        reject(new ServiceError("unavailable"));
      }, this.options.commandTimeoutMs);
    });
    try {
      return await Promise.race([this.client.send(command, args), deadline]);
    } catch (error) {
      throw toUnavailable(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Connects (once for all callers waiting); throws ServiceError("unavailable") when it cannot. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ServiceError("unavailable", "The store is closed."));
    if (this.client.connected) return Promise.resolve();
    if (Date.now() - this.failedAt < this.options.reconnectPauseMs)
      return Promise.reject(new ServiceError("unavailable"));
    this.connecting ??= this.attempt().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async attempt(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServiceError("unavailable")), this.options.connectTimeoutMs);
    });
    try {
      await Promise.race([this.client.connect(), deadline]);
    } catch (error) {
      this.failedAt = Date.now();
      this.client.close();
      const mapped = toUnavailable(error);
      // A refused password or a bad database number will not heal by waiting: say so.
      throw mapped instanceof ServiceError ? mapped : new Error(`Redis connection failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }
}
