/**
 * The one union of error codes the service speaks (CONTRACT §1). Each edge maps every code in one
 * typed table (HTTP status in server/http/errors.ts, exit code in cli/exit-codes.ts), so adding a
 * code here does not compile until both edges know it.
 */
export const ERROR_CODES = [
  "invalid_request",
  "invalid_grant",
  "invalid_token",
  "invalid_client",
  "not_found",
  "user_deleted",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "unavailable",
  "internal_error",
  "invalid_dpop_proof",
  "use_dpop_nonce",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Human messages. They never contain submitted values. */
const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  invalid_request: "The request is malformed.",
  invalid_grant: "The refresh token is invalid, expired or revoked.",
  invalid_token: "The access token is missing, invalid or its session has ended.",
  invalid_client: "A valid service key is required.",
  not_found: "No such session.",
  user_deleted: "The user has been deleted.",
  payload_too_large: "The request body exceeds 16 KiB.",
  unsupported_media_type: "Request bodies must be application/json (UTF-8).",
  rate_limited: "Too many failed attempts; retry later.",
  unavailable: "The store is unavailable; retry later.",
  internal_error: "An internal error occurred.",
  invalid_dpop_proof: "A valid DPoP proof for this session's key is required.",
  use_dpop_nonce: "The DPoP proof must carry the server's current nonce (see the DPoP-Nonce header).",
};

export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = DEFAULT_MESSAGES[code],
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export const isServiceError = (e: unknown): e is ServiceError => e instanceof ServiceError;
