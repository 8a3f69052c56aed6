/**
 * What the store checks once when it opens: the data layout version of what Redis holds, and an
 * eviction policy that cannot lose data. Opened read-only, it only reads.
 */
import { ServiceError } from "../../server/core/errors";
import type { RedisConnection } from "./connection";
import type { Keys } from "./keys";
import { MIGRATING, migrateFromLayout1 } from "./migrate";

/** The data layout this code reads and writes (keys.ts, lua/prelude.lua). */
export const LAYOUT_VERSION = "2";

function layoutProblem(layout: unknown): string | null {
  if (layout === LAYOUT_VERSION) return null;
  if (layout === "1" || layout === MIGRATING) {
    return (
      "Redis holds session data of layout 1 (version 0.1); this version reads layout 2: " +
      "start the server once (it converts the store) before read-only commands"
    );
  }
  return `Redis holds session data of layout ${String(layout)}; this version reads layout ${LAYOUT_VERSION}`;
}

/** Checks the layout (a writer creates it, or converts layout 1: migrate.ts) and the eviction policy. */
export async function checkServer(
  connection: RedisConnection,
  keys: Keys,
  prefix: string,
  readOnly: boolean,
): Promise<void> {
  if (!readOnly) {
    await connection.send("SET", [keys.layout, LAYOUT_VERSION, "NX"]);
    const found = await connection.send("GET", [keys.layout]);
    if (found === "1" || found === MIGRATING) await migrateFromLayout1(connection, prefix, keys.layout);
  }
  const layout = await connection.send("GET", [keys.layout]);
  if (layout === null && readOnly) {
    throw new Error("Redis holds no session store under this prefix yet (the server creates it on first start)");
  }
  const problem = layoutProblem(layout);
  if (problem) throw new Error(problem);
  await refuseEvictingEverything(connection);
}

/**
 * Under an allkeys-* eviction policy Redis may drop outbox rows and deleted-user marks when memory
 * runs short: events would be lost and deleted users could sign in again. Refuse to start on it.
 * (noeviction is what README-redis.md asks for; where CONFIG is not allowed, nothing is checked.)
 */
async function refuseEvictingEverything(connection: RedisConnection): Promise<void> {
  let policy: unknown;
  try {
    policy = await connection.send("CONFIG", ["GET", "maxmemory-policy"]);
  } catch (error) {
    if (error instanceof ServiceError) throw error;
    return;
  }
  const value = Array.isArray(policy) ? policy[1] : (policy as Record<string, unknown> | null)?.["maxmemory-policy"];
  if (typeof value === "string" && value.startsWith("allkeys-")) {
    throw new Error(
      `Redis evicts any key under memory pressure (maxmemory-policy ${value}); the session store needs noeviction`,
    );
  }
}
