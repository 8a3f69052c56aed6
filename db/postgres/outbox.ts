/** The transactional outbox on PostgreSQL: rows written with the change they report, read by the relay in order. */
import type { TransactionSQL } from "bun";
import { asc, inArray, isNull, sql } from "drizzle-orm";
import type { CloudEvent } from "../../server/core/events";
import type { Outbox, OutboxRow } from "../../server/core/ports";
import type { PostgresDatabase } from "./database";
import { eventColumns, queries } from "./queries";
import { outbox } from "./schema";

/** Inside a transaction: the events' outbox rows, in one statement. */
export async function emit(tx: TransactionSQL, events: CloudEvent[]): Promise<void> {
  if (events.length > 0) await queries.insertEvents.all(tx, eventColumns(events));
}

export class PostgresOutbox implements Outbox {
  private readonly pending;

  constructor(private readonly database: PostgresDatabase) {
    this.pending = database.db
      .select()
      .from(outbox)
      .where(isNull(outbox.sentAt))
      .orderBy(asc(outbox.seq))
      .limit(sql.placeholder("limit"))
      .prepare("pending_events");
  }

  async pendingEvents(limit: number): Promise<OutboxRow[]> {
    return this.database.statement(() => this.pending.execute({ limit }));
  }

  async markEventsSent(ids: string[], now: number) {
    if (ids.length === 0) return;
    const db = this.database.db;
    await this.database.statement(() => db.update(outbox).set({ sentAt: now }).where(inArray(outbox.id, ids)));
  }
}
