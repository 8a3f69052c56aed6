/** Endpoints for internal services, guarded by a service key: open a session, introspect a refresh token. */
import { Elysia } from "elysia";
import type { Core } from "../../open-core";
import { requireServiceClient } from "../auth";
import {
  BODY_ERRORS,
  CreateSessionBody,
  errorResponses,
  IntrospectionBody,
  RefreshTokenBody,
  TokenPairBody,
} from "../models";

const security = [{ serviceKey: [] }];

export const internalRoutes = (core: Core) =>
  new Elysia({ name: "internal-routes", normalize: false })
    // derive runs before body validation: an unauthenticated caller learns nothing about its body.
    .derive(async ({ request }) => ({ serviceClient: await requireServiceClient(core, request.headers) }))
    .post(
      "/session",
      async ({ body, set }) => {
        set.status = 201;
        set.headers["cache-control"] = "no-store";
        return core.sessions.create({
          userId: body.user_id,
          userAgent: body.user_agent,
          ip: body.ip,
          claims: body.claims,
          dpopJkt: body.dpop_jkt,
        });
      },
      {
        body: CreateSessionBody,
        response: {
          201: TokenPairBody,
          ...errorResponses(...BODY_ERRORS, "invalid_client", "user_deleted", "rate_limited"),
        },
        detail: {
          summary: "Open a session after login",
          description: "Evicts the least recently used session beyond MAX_SESSIONS_PER_USER. Emits session.created.",
          tags: ["internal"],
          security,
        },
      },
    )
    .post(
      "/session/validate",
      async ({ body, set }) => {
        set.headers["cache-control"] = "no-store";
        return core.sessions.validate(body.refresh_token);
      },
      {
        body: RefreshTokenBody,
        response: { 200: IntrospectionBody, ...errorResponses(...BODY_ERRORS, "invalid_client", "rate_limited") },
        detail: {
          summary: "Is this refresh token good? (RFC 7662 style, read-only)",
          tags: ["internal"],
          security,
        },
      },
    );
