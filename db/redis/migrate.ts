/**
 * Data layout 1 (version 0.1) → 2, run by the first opening that may write (the server's start),
 * like the SQL stores' migration 0001. What layout 2 cannot use is deleted; what still matters is
 * kept as it is:
 * - deleted: sessions and their indexes (s:*, u:*, all, end), the token indexes (t:*, p:*, r:*),
 *   the per-user versions (uv:*), and the signing keys (keys, keys:retired: their rows carry no MAC,
 *   so the server makes a new key). Sessions of 0.1 could not be used anyway: their refresh tokens
 *   do not name their session, so every user signs in once more (README, "Upgrading from 0.1");
 * - kept: deleted-user marks (ud:*), the outbox (ob:*, events not relayed yet included), service
 *   clients and leases, whose format did not change.
 * The layout key says "migrating" while it runs, so an interrupted migration is finished by the
 * next start; every step can run twice.
 */
import type { RedisConnection } from "./connection";

export const MIGRATING = "1->2";

/** The prefix as a SCAN MATCH pattern of itself (glob characters escaped). */
const literal = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

async function unlinkMatching(connection: RedisConnection, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = (await connection.send("SCAN", [cursor, "MATCH", pattern, "COUNT", "1000"])) as [
      string,
      string[],
    ];
    cursor = String(next);
    if (keys.length > 0) await connection.send("UNLINK", keys);
  } while (cursor !== "0");
}

export async function migrateFromLayout1(connection: RedisConnection, prefix: string, layoutKey: string) {
  await connection.send("SET", [layoutKey, MIGRATING]);
  const p = literal(prefix);
  for (const kind of ["s", "u", "t", "p", "r", "uv"]) await unlinkMatching(connection, `${p}${kind}:*`);
  await connection.send("UNLINK", [`${prefix}all`, `${prefix}end`, `${prefix}keys`, `${prefix}keys:retired`]);
  await connection.send("SET", [layoutKey, "2"]);
}
