/**
 * createApp(core) assembles the HTTP edge without listening, so tests drive it with
 * app.handle(new Request(...)). The request guard, body parsing and error mapping are mounted
 * once, globally. Order for every request: the guard (413 for a declared oversized body, 429 for a
 * source over RATE_LIMIT) → routing → the body (413 while streaming, 415; bad JSON only marked) →
 * the route's credential (401) → the body's shape (400) → the handler.
 */
import { Elysia } from "elysia";
import { dpopErrorHeaders, dpopNonceHeaders } from "../core/dpop";
import { ServiceError } from "../core/errors";
import type { Logger } from "../logger";
import { Metrics } from "../metrics";
import type { Core } from "../open-core";
import { AccessDenied } from "./auth";
import { ignoreBody, malformedBodyMessage, parseJsonBody } from "./body";
import { ClientSource, PeerAddresses } from "./client-source";
import { docsRoutes } from "./docs";
import { errorResponse } from "./errors";
import { createRequestGuard } from "./guard";
import { FailureLimiter } from "./rate-limit";
import { pathOf } from "./request-url";
import { internalRoutes } from "./routes/internal";
import { type Probes, publicRoutes } from "./routes/public";
import { refreshTokenRoutes } from "./routes/refresh-token";
import { userRoutes } from "./routes/user";

export interface AppOptions {
  logger: Logger;
  probes?: Probes;
  metrics?: Metrics;
  /** Who is at the other end of each request's socket (serve.ts attaches the listening server). */
  peers?: PeerAddresses;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Answers of POST /session/refresh carry the current DPoP nonce (DPOP_NONCE=on), refusals included. */
function refreshHeaders(core: Core, request: Request, error: unknown): Record<string, string> {
  if (pathOf(request.url) !== "/session/refresh") return {};
  const nonce = core.dpop.currentNonce(core.clock.now());
  if (error instanceof ServiceError && (error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce")) {
    return dpopErrorHeaders(error.code, nonce);
  }
  return dpopNonceHeaders(nonce);
}

function toResponse(
  error: unknown,
  code: string | number,
  body: unknown,
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
  if (code === "PARSE" && cause instanceof ServiceError) return errorResponse(cause.code, cause.message, extraHeaders);
  // Elysia's own validation message quotes the submitted value; never pass it on.
  if (code === "VALIDATION")
    return errorResponse(
      "invalid_request",
      malformedBodyMessage(body) ?? "The request body or parameters have the wrong shape.",
      extraHeaders,
    );
  if (code === "PARSE") return errorResponse("invalid_request", "The body is not valid JSON.", extraHeaders);
  if (code === "NOT_FOUND") return errorResponse("not_found", "No such endpoint.");
  logger.error({ err: error }, "unhandled error");
  return errorResponse("internal_error", "An internal error occurred.");
}

export function createApp(core: Core, options: AppOptions) {
  const probes = options.probes ?? { events: () => "disabled" };
  const limiter = core.config.rateLimit ? new FailureLimiter(core.config.rateLimit) : null;
  const source = new ClientSource(core.config.trustedProxies, options.peers ?? new PeerAddresses());
  const guard = createRequestGuard(limiter, source, (request) => refreshHeaders(core, request, null));
  const errors = new Elysia({ name: "errors", normalize: false })
    // A plain function without `return f(` in its text: Elysia awaits hooks whose source looks
    // asynchronous, and this one runs for every request.
    .onRequest(function requestGuard({ request }) {
      const refusal = guard(request);
      if (refusal) return refusal;
    })
    // Every method Elysia reads a body for: JSON for POST/PUT/PATCH, and the rest (DELETE…) held
    // to the same cap and never parsed (Elysia's default parser would read any size).
    .onParse({ as: "global" }, ({ request }) =>
      BODY_METHODS.has(request.method) ? parseJsonBody(request) : ignoreBody(request),
    )
    .onError({ as: "global" }, ({ error, code, request, body }) => {
      if (
        limiter &&
        error instanceof ServiceError &&
        (error.code === "invalid_grant" || error.code === "invalid_client")
      )
        limiter.fail(source.of(request));
      return toResponse(error, code, body, options.logger, refreshHeaders(core, request, error));
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
