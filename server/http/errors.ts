/** The one table from error code to HTTP status, and the JSON error response every edge case uses. */
import type { ErrorCode } from "../core/errors";

export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_grant: 401,
  invalid_token: 401,
  invalid_client: 401,
  not_found: 404,
  user_deleted: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal_error: 500,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
};

export const RETRY_AFTER_SECONDS = 1;

export function errorResponse(code: ErrorCode, message: string, extraHeaders: Record<string, string> = {}): Response {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cache-control": "no-store",
    ...extraHeaders,
  };
  if (code === "unavailable" && !headers["retry-after"]) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  return new Response(JSON.stringify({ error: code, message }), { status: HTTP_STATUS[code], headers });
}
