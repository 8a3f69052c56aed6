/**
 * Scale: BENCH_SCALE_SESSIONS sessions (200,000 users with 5 each at 1M) written straight into a
 * SQLite FULL store before the server starts, then validate, refresh and me against it. Their own
 * pools are seeded on top, as on the empty store, so the two runs differ only in the stored rows.
 */
import { openSqliteStore } from "../db/sqlite/store";
import { dbFile } from "../test/support/server";
import type { ScaleRun } from "./results";
import { seedSessions } from "./seed";
import { settings } from "./settings";
import { runReads } from "./store-run";
import { sqliteTarget } from "./stores";
import type { Ceilings } from "./workloads";

export async function runScale(ceilings: Ceilings): Promise<ScaleRun> {
  const target = sqliteTarget("FULL");
  try {
    // The schema first (the store applies the migrations), then the bulk load without a server.
    await (await openSqliteStore({ path: dbFile(target.dir), synchronous: "FULL", busyTimeoutMs: 5000 })).close();
    const started = performance.now();
    const writer = target.writer({ bulk: true });
    await seedSessions(writer, settings.scaleSessions, (i) => `scale-${Math.floor(i / 5)}`, false);
    await writer.close();
    const seedSeconds = (performance.now() - started) / 1000;
    console.log(`  ${settings.scaleSessions} sessions seeded in ${seedSeconds.toFixed(1)} s`);
    return { sessions: settings.scaleSessions, seedSeconds, ...(await runReads(target, ceilings)) };
  } finally {
    await target.drop();
  }
}
