/**
 * For any fetch-style server (Bun.serve, Hono, Deno, Node's Request): the Bearer token of a
 * request checked by a verifier, or the ready answer of CONTRACT §2 and §9 — 401 invalid_token with
 * its WWW-Authenticate challenge, 503 unavailable with Retry-After. Tokens are read only from the
 * Authorization header, never from the URL.
 */
import { VerifierError } from "./errors.js";
import type { AccessTokenClaims } from "./token.js";
import type { Verifier } from "./verifier.js";

/** How long a 503 asks the caller to wait: keys and revocations are retried every second or two. */
export const RETRY_AFTER_SECONDS = 1;

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), and whether a Bearer credential was sent at all. */
export function bearerCredential(authorization: string | null): { token: string | null; sent: boolean } {
  if (authorization === null) return { token: null, sent: false };
  const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
  if (match) return { token: match[1]!, sent: true };
  // "Bearer", "Bearer  ", "Bearer a b": a Bearer credential was sent, and it is not a token.
  return { token: null, sent: /^Bearer\b/i.test(authorization) };
}

export interface Refusal {
  status: 401 | 503;
  headers: Record<string, string>;
  body: { error: "invalid_token" | "unavailable"; message: string };
}

/** What to answer a refused or missing token with; `null` means no Bearer credential was sent at all. */
export function refusalOf(error: VerifierError | null): Refusal {
  if (error?.code === "unavailable")
    return {
      status: 503,
      headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
      body: { error: "unavailable", message: error.message },
    };
  return {
    status: 401,
    headers: { "www-authenticate": error ? 'Bearer error="invalid_token"' : "Bearer" },
    body: { error: "invalid_token", message: error ? error.message : "An access token is required." },
  };
}

/** The same as a Response with a JSON body. */
export function refusal(error: VerifierError | null): Response {
  const { status, headers, body } = refusalOf(error);
  return new Response(JSON.stringify(body), { status, headers: { ...headers, "content-type": "application/json" } });
}

/** The request's Bearer token verified: its claims, or the refusal to answer with. */
export async function check(
  verifier: Pick<Verifier, "verify">,
  headers: Headers,
): Promise<{ claims: AccessTokenClaims } | { refused: VerifierError | null }> {
  const { token, sent } = bearerCredential(headers.get("authorization"));
  if (token === null) return { refused: sent ? new VerifierError("malformed") : null };
  try {
    return { claims: await verifier.verify(token) };
  } catch (error) {
    if (error instanceof VerifierError) return { refused: error };
    throw error;
  }
}

/**
 * The verified claims of the request's access token, or the Response to send instead. Any other
 * error (none is expected) is thrown, for the server's own error handling.
 */
export async function authenticate(
  verifier: Pick<Verifier, "verify">,
  request: { headers: Headers },
): Promise<AccessTokenClaims | Response> {
  const result = await check(verifier, request.headers);
  return "claims" in result ? result.claims : refusal(result.refused);
}
