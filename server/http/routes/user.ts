/** Endpoints for a signed-in user, guarded by an access token whose session is still active. */
import { Elysia, t } from "elysia";
import type { Core } from "../../open-core";
import { requireUser, withAccessToken } from "../auth";
import {
  BODY_ERRORS,
  errorResponses,
  MySessionsBody,
  RenameBody,
  RevokedCountBody,
  SessionAnswerBody,
} from "../models";

const security = [{ accessToken: [] }];

export const userRoutes = (core: Core) =>
  new Elysia({ name: "user-routes", normalize: false })
    // Before the derive below: listing the user's sessions is itself the check that the token's
    // session is active, so this route reads the store once instead of twice.
    .get(
      "/session/me",
      async ({ request, set }) => {
        const sessions = await withAccessToken(request.headers, (token) => core.sessions.listOwn(token));
        set.headers["cache-control"] = "no-store";
        return { sessions };
      },
      {
        response: { 200: MySessionsBody, ...errorResponses("invalid_token", "unavailable") },
        detail: { summary: "My active sessions, most recently used first", tags: ["user"], security },
      },
    )
    .derive(async ({ request }) => ({ caller: await requireUser(core, request.headers) }))
    .delete(
      "/session/all",
      async ({ caller, query, set }) => {
        set.headers["cache-control"] = "no-store";
        return { revoked: await core.sessions.revokeAllOwn(caller, query.keep_current === "true") };
      },
      {
        // Other query parameters are ignored (CONTRACT §3: only the caller's own sessions, whatever the query says).
        query: t.Object({ keep_current: t.Optional(t.String({ examples: ["true"] })) }, { additionalProperties: true }),
        response: { 200: RevokedCountBody, ...errorResponses("invalid_token", "unavailable") },
        detail: {
          summary: "Log out everywhere",
          description: "keep_current=true keeps the caller's own session (reason logout_others), otherwise logout_all.",
          tags: ["user"],
          security,
        },
      },
    )
    .delete(
      "/session/:id",
      async ({ caller, params, set }) => {
        await core.sessions.revokeOwn(caller, params.id);
        set.status = 204;
        set.headers["cache-control"] = "no-store";
        return null;
      },
      {
        // No uuid format here: CONTRACT §1 wants a non-UUID id to be 404 not_found (revokeOwn checks it), not a 400.
        params: t.Object({ id: t.String({ description: "The session id (a UUID)" }) }),
        response: { 204: t.Null(), ...errorResponses("invalid_token", "not_found", "unavailable") },
        detail: {
          summary: "Log out one device",
          description: "204 for the caller's session, active or already ended; 404 for unknown or foreign ids alike.",
          tags: ["user"],
          security,
        },
      },
    )
    .patch(
      "/session/:id",
      async ({ caller, params, body, set }) => {
        set.headers["cache-control"] = "no-store";
        return core.sessions.renameOwn(caller, params.id, body.name);
      },
      {
        params: t.Object({ id: t.String({ description: "The session id (a UUID)" }) }),
        body: RenameBody,
        response: { 200: SessionAnswerBody, ...errorResponses(...BODY_ERRORS, "invalid_token", "not_found") },
        detail: {
          summary: "Name one of my sessions",
          description:
            "Sets or clears the name shown in GET /session/me. Nothing else changes (no last_used_at) and no event is emitted. 404 for unknown, foreign, ended or non-UUID ids alike.",
          tags: ["user"],
          security,
        },
      },
    );
