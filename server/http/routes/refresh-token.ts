/** Endpoints for the holder of a refresh token: rotate it, or log out with it. */
import { Elysia, t } from "elysia";
import { dpopNonceHeaders } from "../../core/dpop";
import type { Core } from "../../open-core";
import { BODY_ERRORS, EmptyBody, errorResponses, RefreshBody, RefreshTokenBody, TokenPairBody } from "../models";

export const refreshTokenRoutes = (core: Core) =>
  new Elysia({ name: "refresh-token-routes", normalize: false })
    .post(
      "/session/refresh",
      async ({ body, set, request }) => {
        set.headers["cache-control"] = "no-store";
        Object.assign(set.headers, dpopNonceHeaders(core.dpop.currentNonce(core.clock.now())));
        return core.sessions.refresh({
          refreshToken: body.refresh_token,
          userAgent: body.user_agent,
          ip: body.ip,
          dpopProof: request.headers.get("dpop") ?? undefined,
        });
      },
      {
        body: RefreshBody,
        headers: t.Object(
          {
            dpop: t.Optional(
              t.String({ description: "DPoP proof (RFC 9449) for a session bound to a key; ignored for others." }),
            ),
          },
          { additionalProperties: true },
        ),
        response: {
          200: TokenPairBody,
          ...errorResponses(...BODY_ERRORS, "invalid_grant", "invalid_dpop_proof", "use_dpop_nonce", "rate_limited"),
        },
        detail: {
          summary: "Rotate the refresh token",
          description:
            "Returns a new pair for the same session. A retry with the same token inside the grace window gets the same refresh token; an older token revokes the session (refresh_token_reuse). A session bound to a DPoP key needs a fresh proof in the DPoP header for every refresh; with DPOP_NONCE=on every answer carries DPoP-Nonce.",
          tags: ["refresh token"],
        },
      },
    )
    .post(
      "/session/revoke",
      async ({ body, set }) => {
        set.headers["cache-control"] = "no-store";
        await core.sessions.revokeByRefreshToken(body.refresh_token);
        return {};
      },
      {
        body: RefreshTokenBody,
        response: { 200: EmptyBody, ...errorResponses(...BODY_ERRORS) },
        detail: {
          summary: "Log out with the refresh token (RFC 7009 style)",
          description: "Answers 200 {} whether or not the token was known.",
          tags: ["refresh token"],
        },
      },
    );
