/**
 * What the indexes that change with a session's revocation cost a logout, in the store alone:
 *   bun bench/revoke-indexes.ts
 * The real schema (the project's migrations) with 100,000 sessions of 20,000 users, then 30,000
 * revocations by the store's own statement in transactions of 64 (as the group commit batches
 * them), `synchronous=FULL`; CPU µs per revocation. Beside it the same schema without the live
 * index (`sessions_live_by_user`, partial on `revoked_at is null`: what a user's creates and
 * `/session/me` read) and without the purge index (`sessions_revoked_at`), in alternating rounds.
 * Both indexes move on every revocation; before them, a revocation changed no index at all.
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { openConnection } from "../db/sqlite/database";
import { applyMigrations } from "../db/sqlite/migrate";
import { prepareQueries } from "../db/sqlite/queries";
import { installCleanup, removeAtExit } from "./processes";

const SESSIONS = 100_000;
const USERS = 20_000;
const REVOCATIONS = 30_000;
const BATCH = 64;
const ROUNDS = 3;

const variants = {
  "real schema": [],
  "without the purge index": ["drop index sessions_revoked_at"],
  "without both": ["drop index sessions_revoked_at", "drop index sessions_live_by_user"],
} as const;
type Variant = keyof typeof variants;

function cpuMicrosPerRevocation(variant: Variant, dir: string): number {
  const client = openConnection({
    path: join(mkdtempSync(join(dir, "db-")), "sessions.db"),
    synchronous: "FULL",
    busyTimeoutMs: 5000,
  });
  applyMigrations(drizzle(client));
  for (const statement of variants[variant]) client.run(statement);
  const q = prepareQueries(client);
  const now = Date.now();
  const ids: string[] = [];
  client.transaction(() => {
    for (let i = 0; i < SESSIONS; i++) {
      const sessionId = crypto.randomUUID();
      ids.push(sessionId);
      q.insert.run({
        sessionId,
        userId: `user-${i % USERS}`,
        refreshTokenHash: `hash-${i}`,
        previousTokenHash: null,
        rotationNonce: null,
        rotatedAt: null,
        rotationCount: 0,
        userAgent: "Mozilla/5.0",
        ip: "127.0.0.1",
        claims: "{}",
        name: null,
        dpopJkt: null,
        mac: "mac",
        createdAt: now - i,
        lastUsedAt: now - i,
        absoluteExpiresAt: now + 1e9,
        expiresAt: now + 1e9,
        accessExpiresAt: now,
        revokedAt: null,
        revokeReason: null,
      });
    }
  })();
  // Logouts come in any order, not in the order the sessions were created.
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const begin = client.prepare("BEGIN IMMEDIATE");
  const commit = client.prepare("COMMIT");
  const started = process.cpuUsage();
  for (let first = 0; first < REVOCATIONS; first += BATCH) {
    begin.run();
    for (let i = first; i < first + BATCH && i < REVOCATIONS; i++)
      q.revoke.get({ id: ids[i]!, owner: null, reason: "logout", now });
    commit.run();
  }
  const used = process.cpuUsage(started);
  client.close();
  return (used.user + used.system) / REVOCATIONS;
}

installCleanup();
const dir = removeAtExit(mkdtempSync("/tmp/revoke-indexes-"));
const figures = new Map<Variant, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of Object.keys(variants) as Variant[]) {
    figures.set(variant, [...(figures.get(variant) ?? []), cpuMicrosPerRevocation(variant, dir)]);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [variant, values] of figures) {
  console.log(
    `${variant.padEnd(24)} ${median(values).toFixed(1).padStart(6)} µs CPU per revocation (rounds: ${values.map((v) => v.toFixed(1)).join(", ")})`,
  );
}
