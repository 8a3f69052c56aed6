/**
 * The transactional outbox on Redis: rows written by the same script as the change they report,
 * read by the relay in commit order. A created event is stored as its document (the core built it
 * before the script ran); a revocation's script stores the facts — the row as revoked — and the
 * document is built from them here with the core's revokedRowEvent, under the id the script chose:
 * the very document the adapter handed the core's EventFactory (`events.revoked(row, id)`).
 */
import { revokedRowEvent } from "../../server/core/events";
import type { Outbox, OutboxRow } from "../../server/core/ports";
import { decodeFacts } from "./codec";
import type { Scripts } from "./scripts";

/** One entry of pending.lua's reply. */
function decodeEvent(entry: unknown): OutboxRow {
  const [id, seq, subject, createdAt, payload, facts] = entry as [string, string, string, string, string?, string?];
  return {
    id,
    seq: Number(seq),
    subject,
    payload: payload ?? JSON.stringify(revokedRowEvent(id, decodeFacts(facts!))),
    createdAt: Number(createdAt),
    sentAt: null,
  };
}

export class RedisOutbox implements Outbox {
  constructor(
    private readonly scripts: Scripts,
    private readonly retentionMs: number,
  ) {}

  async pendingEvents(limit: number): Promise<OutboxRow[]> {
    if (limit <= 0) return [];
    return ((await this.scripts.run("pending", [limit])) as unknown[]).map(decodeEvent);
  }

  async markEventsSent(ids: string[], now: number) {
    if (ids.length === 0) return;
    await this.scripts.run("mark_sent", [now, this.retentionMs, ...ids]);
  }
}
