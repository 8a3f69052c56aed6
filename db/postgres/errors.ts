import { DrizzleQueryError } from "drizzle-orm/errors";
import { ServiceError } from "../../server/core/errors";

/**
 * SQLSTATE classes and codes that mean "the store cannot take this now; retry later": connection
 * problems (08), resources exhausted (53), operator intervention incl. statement_timeout (57),
 * system/I/O errors (58), lock_timeout (55P03), serialization failures and deadlocks (40001, 40P01),
 * a read-only server after failover (25006), idle-in-transaction timeout (25P03).
 */
const UNAVAILABLE_STATE = /^(08|53|57|58)|^(55P03|40001|40P01|25006|25P03)$/;

/** Client-side failures: Bun's SQL client (ERR_POSTGRES_…) and socket codes. */
const UNAVAILABLE_CLIENT =
  /^ERR_POSTGRES_(CONNECTION_|.*TIMEOUT$)|^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/;

/** The SQLSTATE of a server error: Bun's client keeps it in `errno` (other clients in `code`). */
function sqlState(error: { code?: unknown; errno?: unknown }): string | null {
  for (const value of [error.errno, error.code]) {
    if (typeof value === "string" && /^[0-9A-Z]{5}$/.test(value)) return value;
  }
  return null;
}

/**
 * Maps a failure to ServiceError("unavailable") when waiting could fix it. Anything else is
 * rethrown as the client's own error: Drizzle's wrapper is dropped because its message carries
 * the query parameters, which include token hashes that must not reach a log.
 */
export function toUnavailable(error: unknown): unknown {
  let cause = error;
  while (cause instanceof DrizzleQueryError && cause.cause !== undefined) cause = cause.cause;
  if (cause instanceof ServiceError || typeof cause !== "object" || cause === null) return cause;
  const state = sqlState(cause);
  if (state !== null && UNAVAILABLE_STATE.test(state)) return new ServiceError("unavailable");
  const code = (cause as { code?: unknown }).code;
  if (typeof code === "string" && UNAVAILABLE_CLIENT.test(code)) return new ServiceError("unavailable");
  return cause;
}

/** A unique constraint of `table` refused the statement (SQLSTATE 23505); for dpop_proofs, a jti used before. */
export function isUniqueViolation(error: unknown, table: string): boolean {
  let cause = error;
  while (cause instanceof DrizzleQueryError && cause.cause !== undefined) cause = cause.cause;
  if (typeof cause !== "object" || cause === null || sqlState(cause) !== "23505") return false;
  // Bun's client names the table; a client that does not is trusted on the SQLSTATE alone.
  const named = (cause as { table?: unknown }).table;
  return named === undefined || named === table;
}
