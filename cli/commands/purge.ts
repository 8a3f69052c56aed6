/**
 * `purge`: deletes sessions that ended (revoked, or past their deadline) before --older-than and
 * outbox rows relayed before it. It deletes in small transactions in a loop, pausing between
 * them, so the server's writers get the SQLite write lock between batches and keep answering.
 */
import { type Command, Option } from "commander";
import { iso } from "../../server/core/events";
import type { PurgeResult } from "../../server/core/ports";
import type { Core } from "../../server/open-core";
import type { CliContext } from "../context";
import { duration, examples, wholeNumber } from "../options";
import { plural } from "../render";

const DEFAULT_BATCH = 1000;
/** Long enough for a waiting writer's busy handler to win the lock before the next batch. */
const PAUSE_BETWEEN_BATCHES_MS = 5;

interface PurgeOptions {
  olderThan: number;
  dryRun?: boolean;
  batchSize: number;
}

const what = (r: PurgeResult) => `${plural(r.sessions, "ended session")} and ${plural(r.events, "relayed event")}`;

async function purgeInBatches(core: Core, endedBefore: number, batch: number, progress: (total: PurgeResult) => void) {
  const total: PurgeResult = { sessions: 0, events: 0 };
  let batches = 0;
  for (;;) {
    const done = await core.store.purge(endedBefore, batch, false, core.clock.now());
    batches++;
    total.sessions += done.sessions;
    total.events += done.events;
    // A batch that was not full on both sides means nothing more matched.
    if (done.sessions < batch && done.events < batch) break;
    progress(total);
    await Bun.sleep(PAUSE_BETWEEN_BATCHES_MS);
  }
  return { total, batches };
}

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
      await ctx.withCore(async (core) => {
        const now = core.clock.now();
        const endedBefore = now - opts.olderThan;
        const cutoff = `ended or relayed before ${iso(endedBefore)}`;
        if (opts.dryRun) {
          const counts = await core.store.purge(endedBefore, opts.batchSize, true, now);
          ctx.io.out(`Dry run: would delete ${what(counts)} (${cutoff}). Nothing was changed.\n`);
          return;
        }
        // Progress only for a person watching; a pipe gets the summary line alone.
        const progress = ctx.io.isTTY ? (t: PurgeResult) => ctx.io.out(`\rDeleting… ${what(t)} so far`) : () => {};
        const { total, batches } = await purgeInBatches(core, endedBefore, opts.batchSize, progress);
        if (ctx.io.isTTY && batches > 1) ctx.io.out("\r\x1b[K");
        ctx.io.out(`Deleted ${what(total)} (${cutoff}) in ${plural(batches, "batch", "batches")}.\n`);
      });
    });
}
