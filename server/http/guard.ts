/**
 * What is decided about a request before it is routed, for every method and path (including
 * unknown ones): a declared body over the cap is 413 (CONTRACT §1), and a source over RATE_LIMIT
 * is refused at the credential endpoints before its credential is checked (rate-limit.ts).
 * Synchronous on purpose: it runs for every request.
 */
import { ServiceError } from "../core/errors";
import { declaresTooLarge } from "./body";
import type { ClientSource } from "./client-source";
import { errorResponse } from "./errors";
import type { FailureLimiter } from "./rate-limit";
import { pathOf } from "./request-url";

/** The endpoints whose failures count (invalid_grant, invalid_client): the ones a guess is made at. */
export const CREDENTIAL_PATHS = new Set(["/session", "/session/validate", "/session/refresh"]);

export function tooLargeResponse(extraHeaders: Record<string, string> = {}): Response {
  const error = new ServiceError("payload_too_large");
  return errorResponse(error.code, error.message, extraHeaders);
}

/** `headersFor`: what every answer of the route carries besides (the DPoP-Nonce of /session/refresh). */
export function createRequestGuard(
  limiter: FailureLimiter | null,
  source: ClientSource,
  headersFor: (request: Request) => Record<string, string>,
) {
  return (request: Request): Response | undefined => {
    if (declaresTooLarge(request)) return tooLargeResponse(headersFor(request));
    if (limiter && request.method === "POST" && CREDENTIAL_PATHS.has(pathOf(request.url))) {
      const wait = limiter.retryAfter(source.of(request));
      if (wait !== null)
        return errorResponse("rate_limited", "Too many failed attempts; retry later.", {
          ...headersFor(request),
          "retry-after": String(wait),
        });
    }
    return undefined;
  };
}
