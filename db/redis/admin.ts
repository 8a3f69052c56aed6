/**
 * Operator views and housekeeping on Redis. Listings and stats over all sessions go page by page
 * over the `all` index (not a point-in-time snapshot while the service writes; their cost grows
 * with the sessions retained); one user's listing reads only that user's index. Purge deletes in
 * bounded batches by the core's cut-offs (isPurgeable, written out in lua/prelude.lua).
 */

import type {
  PurgeCutoffs,
  PurgeResult,
  SessionFilter,
  SessionRow,
  SessionStatus,
  StoreAdmin,
  StoreStats,
} from "../../server/core/ports";
import { sessionStatus } from "../../server/core/ports";
import { decodeRows } from "./codec";
import type { RedisConnection } from "./connection";
import type { Keys } from "./keys";
import type { Scripts } from "./scripts";

const PAGE = 1000;

/** Listing order: newest first, ties by id (as the SQL stores' newestFirst). */
const byNewest = (a: SessionRow, b: SessionRow) =>
  b.createdAt - a.createdAt || (a.sessionId < b.sessionId ? 1 : a.sessionId > b.sessionId ? -1 : 0);

export class RedisAdmin implements StoreAdmin {
  constructor(
    private readonly connection: RedisConnection,
    private readonly scripts: Scripts,
    private readonly keys: Keys,
  ) {}

  private run(name: Parameters<Scripts["run"]>[0], args: (string | number)[]) {
    return this.scripts.run(name, args) as Promise<unknown[]>;
  }

  async listSessions(filter: SessionFilter, now: number) {
    const limit = filter.limit ?? 100;
    const wanted = (row: SessionRow) =>
      !filter.status || filter.status === "all" || sessionStatus(row, now) === filter.status;
    if (filter.userId !== undefined) {
      return decodeRows(await this.run("user_sessions", [filter.userId]))
        .filter(wanted)
        .sort(byNewest)
        .slice(0, limit);
    }
    // Newest first, page by page; a session created meanwhile may shift a page, hence the id set.
    const seen = new Set<string>();
    const out: SessionRow[] = [];
    for (let start = 0; out.length < limit; start += PAGE) {
      const reply = await this.run("page", [start, start + PAGE - 1]);
      for (const row of decodeRows(reply.slice(1))) {
        if (!seen.has(row.sessionId) && wanted(row)) out.push(row);
        seen.add(row.sessionId);
      }
      if (Number(reply[0]) < PAGE) break;
    }
    return out.sort(byNewest).slice(0, limit);
  }

  /** Counts page by page: under concurrent writes the figures are close, not a snapshot. */
  async stats(now: number): Promise<StoreStats> {
    const sessions: Record<SessionStatus, number> = { active: 0, revoked: 0, expired: 0 };
    const users = new Set<string>();
    for (let start = 0; ; start += PAGE) {
      const reply = await this.run("stats_page", [start, start + PAGE - 1, now]);
      sessions.active += Number(reply[1]);
      sessions.revoked += Number(reply[2]);
      sessions.expired += Number(reply[3]);
      for (const user of reply.slice(4)) users.add(String(user));
      if (Number(reply[0]) < PAGE) break;
    }
    const [pending, oldest] = await this.run("backlog", []);
    return {
      sessions,
      users: users.size,
      events: {
        pending: Number(pending),
        oldestPendingCreatedAt: oldest === undefined || oldest === null ? null : Number(oldest),
      },
    };
  }

  async purge(cutoffs: PurgeCutoffs, batch: number): Promise<PurgeResult> {
    const [sessions, events] = await this.run("purge", [
      cutoffs.revokedBefore,
      cutoffs.expiredBefore,
      cutoffs.sentBefore,
      cutoffs.proofsBefore,
      batch,
    ]);
    return { sessions: Number(sessions), events: Number(events) };
  }

  async countPurgeable(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    let sessions = 0;
    for (let offset = 0; ; offset += PAGE) {
      const [seen, matched] = await this.run("purge_count", [
        cutoffs.revokedBefore,
        cutoffs.expiredBefore,
        offset,
        PAGE,
      ]);
      sessions += Number(matched);
      if (Number(seen) < PAGE) break;
    }
    const events = Number(await this.connection.send("ZCOUNT", [this.keys.sent, "-inf", String(cutoffs.sentBefore)]));
    return { sessions, events };
  }
}
