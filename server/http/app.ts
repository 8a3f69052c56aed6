/**
 * createApp(core) assembles the HTTP edge without listening, so tests drive it with
 * app.handle(new Request(...)). Body parsing and error mapping are mounted once, globally.
 */
import { Elysia } from "elysia";
import { dpopErrorHeaders, dpopNonceHeaders } from "../core/dpop";
import { ServiceError } from "../core/errors";
import type { Logger } from "../logger";
import { Metrics } from "../metrics";
import type { Core } from "../open-core";
import { AccessDenied } from "./auth";
import { parseJsonBody } from "./body";
import { docsRoutes } from "./docs";
import { errorResponse } from "./errors";
import { FailureLimiter, sourceOf } from "./rate-limit";
import { internalRoutes } from "./routes/internal";
import { type Probes, publicRoutes } from "./routes/public";
import { refreshTokenRoutes } from "./routes/refresh-token";
import { userRoutes } from "./routes/user";

export interface AppOptions {
  logger: Logger;
  probes?: Probes;
  metrics?: Metrics;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Answers of POST /session/refresh carry the current DPoP nonce (DPOP_NONCE=on), refusals included. */
function refreshHeaders(core: Core, request: Request, error: unknown): Record<string, string> {
  if (!new URL(request.url).pathname.endsWith("/session/refresh")) return {};
  const nonce = core.dpop.currentNonce(core.clock.now());
  if (error instanceof ServiceError && (error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce")) {
    return dpopErrorHeaders(error.code, nonce);
  }
  return dpopNonceHeaders(nonce);
}

function toResponse(
  error: unknown,
  code: string | number,
  logger: Logger,
  extraHeaders: Record<string, string> = {},
): Response {
  if (error instanceof AccessDenied) {
    const challenge = error.credentialSent ? 'Bearer error="invalid_token"' : "Bearer";
    return errorResponse("invalid_token", error.message, { "www-authenticate": challenge });
  }
  if (error instanceof ServiceError) return errorResponse(error.code, error.message, extraHeaders);
  // Elysia wraps whatever the parse hook throws (413, 415, 400 from parseJsonBody) in a ParseError.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (code === "PARSE" && cause instanceof ServiceError) return errorResponse(cause.code, cause.message);
  // Elysia's own validation message quotes the submitted value; never pass it on.
  if (code === "VALIDATION")
    return errorResponse("invalid_request", "The request body or parameters have the wrong shape.");
  if (code === "PARSE") return errorResponse("invalid_request", "The body is not valid JSON.");
  if (code === "NOT_FOUND") return errorResponse("not_found", "No such endpoint.");
  logger.error({ err: error }, "unhandled error");
  return errorResponse("internal_error", "An internal error occurred.");
}

export function createApp(core: Core, options: AppOptions) {
  const probes = options.probes ?? { events: () => "disabled" };
  const limiter = core.config.rateLimit ? new FailureLimiter(core.config.rateLimit) : null;
  const errors = new Elysia({ name: "errors", normalize: false })
    .onParse({ as: "global" }, ({ request }) => (BODY_METHODS.has(request.method) ? parseJsonBody(request) : undefined))
    .onError({ as: "global" }, ({ error, code, request, body, server }) => {
      if (
        limiter &&
        error instanceof ServiceError &&
        (error.code === "invalid_grant" || error.code === "invalid_client")
      ) {
        const wait = limiter.fail(sourceOf(request, body, server?.requestIP(request)?.address));
        if (wait !== null)
          return errorResponse("rate_limited", "Too many failed attempts; retry later.", {
            "retry-after": String(wait),
          });
      }
      return toResponse(error, code, options.logger, refreshHeaders(core, request, error));
    });

  // normalize off: Elysia would otherwise coerce a claims array into an object instead of refusing it.
  return new Elysia({ normalize: false })
    .use(errors)
    .use(docsRoutes())
    .use(publicRoutes(core, probes, options.metrics ?? new Metrics()))
    .use(refreshTokenRoutes(core))
    .use(internalRoutes(core))
    .use(userRoutes(core));
}

export type App = ReturnType<typeof createApp>;
