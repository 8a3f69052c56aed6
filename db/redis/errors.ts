/**
 * Which Redis failures mean "the store cannot take this now; retry later" (ServiceError
 * "unavailable", a 503 at the HTTP edge). Anything else is a bug or a misconfiguration and is
 * rethrown as a plain Error: command arguments (token hashes among them) never reach its message.
 */
import { ServiceError } from "../../server/core/errors";

/** Bun's client: the connection is gone, could not be made, or went quiet. */
const UNAVAILABLE_CLIENT =
  /^(ERR_REDIS_(CONNECTION_CLOSED|CONNECTION_TIMEOUT|IDLE_TIMEOUT|TLS_UPGRADE_FAILED)|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/;

/**
 * Server replies that pass: still loading the dataset, a script running too long, a replica (after
 * failover), out of memory under noeviction, failing to persist, no quorum of replicas.
 */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|READONLY|OOM|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|MISCONF|NOREPLICAS)\b/;

export function toUnavailable(error: unknown): unknown {
  if (error instanceof ServiceError || typeof error !== "object" || error === null) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && UNAVAILABLE_CLIENT.test(code)) return new ServiceError("unavailable");
  if (typeof message === "string" && UNAVAILABLE_REPLY.test(message)) return new ServiceError("unavailable");
  if (code === "ERR_REDIS_SERVER_ERROR" && typeof message === "string") {
    // Redis does not echo arguments in error replies; the first line names the failure (and, for
    // a Lua error, the script line), which is what an operator needs.
    return Object.assign(new Error(`Redis: ${message.split("\n")[0]}`), { code });
  }
  return error;
}
