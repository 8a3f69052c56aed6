/**
 * Exit statuses of sessionctl (CONTRACT §6) and the one typed table from the core's error codes to
 * them: adding a code to server/core/errors.ts does not compile until it is mapped here too.
 */
import type { ErrorCode } from "../server/core/errors";

export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE: Record<ErrorCode, ExitCode> = {
  invalid_request: EXIT.usage,
  invalid_grant: EXIT.error,
  invalid_token: EXIT.error,
  invalid_client: EXIT.error,
  not_found: EXIT.notFound,
  user_deleted: EXIT.error,
  payload_too_large: EXIT.usage,
  unsupported_media_type: EXIT.usage,
  rate_limited: EXIT.error,
  unavailable: EXIT.error,
  internal_error: EXIT.error,
  invalid_dpop_proof: EXIT.error,
  use_dpop_nonce: EXIT.error,
};

/** A failure the CLI explains itself: its message is printed as one line, then it exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
export const notFoundError = (message: string) => new CliError(message, EXIT.notFound);
