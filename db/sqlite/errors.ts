import { ServiceError } from "../../server/core/errors";

/** SQLite result codes that mean "the store cannot take this now": retry later, not a bug. */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|PROTOCOL|NOMEM)/;

export function toUnavailable(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && UNAVAILABLE.test(code)) return new ServiceError("unavailable");
  return error;
}
