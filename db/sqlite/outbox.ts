/** The transactional outbox on SQLite: rows written with the change they report, read by the relay in commit order. */
import { asc, inArray, isNull } from "drizzle-orm";
import { type CloudEvent, outboxRecord } from "../../server/core/events";
import type { Outbox, OutboxRow } from "../../server/core/ports";
import type { SqliteDatabase } from "./database";
import type { Queries } from "./queries";
import { outbox } from "./schema";

/** Inside a write transaction: the event's outbox row. */
export const emit = (q: Queries, event: CloudEvent) => q.insertEvent.run(outboxRecord(event));

export class SqliteOutbox implements Outbox {
  constructor(private readonly database: SqliteDatabase) {}

  async pendingEvents(limit: number): Promise<OutboxRow[]> {
    const db = this.database.db;
    return this.database.read(() =>
      db.select().from(outbox).where(isNull(outbox.sentAt)).orderBy(asc(outbox.seq)).limit(limit).all(),
    );
  }

  async markEventsSent(ids: string[], now: number) {
    if (ids.length === 0) return;
    const db = this.database.db;
    await this.database.write(() => db.update(outbox).set({ sentAt: now }).where(inArray(outbox.id, ids)).run());
  }
}
