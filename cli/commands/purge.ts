/**
 * `purge`: deletes sessions that ended (revoked, or past their deadline) before --older-than and
 * outbox rows relayed before it. It deletes in small transactions in a loop, pausing between
 * them, so the server's writers get the SQLite write lock between batches and keep answering.
 */
import { type Command, Option } from "commander";
import { iso } from "../../server/core/events";
import type { PurgeResult } from "../../server/core/ports";
import type { CliContext } from "../context";
import { duration, examples, wholeNumber } from "../options";
import { plural } from "../render";

const DEFAULT_BATCH = 1000;

interface PurgeOptions {
  olderThan: number;
  dryRun?: boolean;
  batchSize: number;
}

const what = (r: PurgeResult) => `${plural(r.sessions, "ended session")} and ${plural(r.events, "relayed event")}`;

export function registerPurgeCommand(program: Command, ctx: CliContext): void {
  program
    .command("purge")
    .description("Delete sessions that ended, and events already relayed, more than a given time ago.")
    .addOption(
      new Option("--older-than <duration>", "how long ago they must have ended (ms/s/m/h/d; 0s = every ended session)")
        .argParser(duration)
        .default(duration("30d"), "30d"),
    )
    .option("--dry-run", "only count what would be deleted; change nothing")
    .option("--batch-size <n>", "rows deleted per transaction", wholeNumber(1, 100_000), DEFAULT_BATCH)
    .addHelpText(
      "after",
      examples("sessionctl purge --dry-run", "sessionctl purge --older-than 7d", "sessionctl purge --older-than 0s"),
    )
    .action(async (opts: PurgeOptions) => {
      const cutoff = `ended or relayed before ${iso(Date.now() - opts.olderThan)}`;
      if (opts.dryRun) {
        const counts = await ctx.withReader((admin) => admin.countPurgeable(opts.olderThan));
        ctx.io.out(`Dry run: would delete ${what(counts)} (${cutoff}). Nothing was changed.\n`);
        return;
      }
      await ctx.withCore(async (core) => {
        // Progress only for a person watching; a pipe gets the summary line alone.
        const progress = ctx.io.isTTY ? (t: PurgeResult) => ctx.io.out(`\rDeleting… ${what(t)} so far`) : () => {};
        const { total, batches } = await core.admin.purge(opts.olderThan, opts.batchSize, progress);
        if (ctx.io.isTTY && batches > 1) ctx.io.out("\r\x1b[K");
        ctx.io.out(`Deleted ${what(total)} (${cutoff}) in ${plural(batches, "batch", "batches")}.\n`);
      });
    });
}
