/** `stats`: sessions by state, distinct users, and the event backlog (CONTRACT §6 shape for --json). */
import type { Command } from "commander";
import type { StoreStats } from "../../server/core/ports";
import type { CliContext } from "../context";
import { examples } from "../options";
import { renderJson, renderRecord } from "../render";

export interface StatsDocument {
  sessions: { active: number; revoked: number; expired: number };
  users: number;
  /** oldest_pending_age_seconds is null when nothing is waiting. */
  events: { pending: number; oldest_pending_age_seconds: number | null };
}

export function statsDocument(stats: StoreStats, now: number): StatsDocument {
  const oldest = stats.events.oldestPendingCreatedAt;
  return {
    sessions: { active: stats.sessions.active, revoked: stats.sessions.revoked, expired: stats.sessions.expired },
    users: stats.users,
    events: {
      pending: stats.events.pending,
      oldest_pending_age_seconds: oldest === null ? null : Math.max(0, Math.floor((now - oldest) / 1000)),
    },
  };
}

export function registerStatsCommand(program: Command, ctx: CliContext): void {
  program
    .command("stats")
    .description("Count sessions by state, users with an active session, and events waiting to be relayed.")
    .option("--json", "print one JSON object, for scripts and monitoring")
    .addHelpText("after", examples("sessionctl stats", "sessionctl stats --json | jq .events.pending"))
    .action(async (opts: { json?: boolean }) => {
      await ctx.withReader(async (admin) => {
        const doc = statsDocument(await admin.stats(), Date.now());
        if (opts.json) return ctx.io.out(renderJson(doc));
        const age = doc.events.oldest_pending_age_seconds;
        ctx.io.out(
          renderRecord(
            [
              ["active sessions", doc.sessions.active],
              ["revoked sessions", doc.sessions.revoked],
              ["expired sessions", doc.sessions.expired],
              ["users with an active session", doc.users],
              ["events waiting to be relayed", doc.events.pending],
              ["oldest waiting event", age === null ? "none" : `${age} s old`],
            ],
            ctx.io.isTTY,
          ),
        );
      });
    });
}
