/**
 * `sessionAuth(verifier)`: an Elysia plugin for the routes registered after it. They get the
 * verified claims as `session`; a missing or refused token is answered 401 invalid_token (with
 * `WWW-Authenticate: Bearer error="invalid_token"`, or plain `Bearer` when no Bearer credential was
 * sent), an unavailable verifier 503 unavailable with Retry-After (CONTRACT §2, §9).
 */
import { Elysia } from "elysia";
import { check, refusalOf } from "./http.js";
import type { Verifier } from "./verifier.js";

export function sessionAuth(verifier: Pick<Verifier, "verify">) {
  return new Elysia().resolve({ as: "scoped" }, async ({ request, set, status }) => {
    const result = await check(verifier, request.headers);
    if ("claims" in result) return { session: result.claims };
    const refused = refusalOf(result.refused);
    Object.assign(set.headers, refused.headers);
    return status(refused.status, refused.body);
  });
}
