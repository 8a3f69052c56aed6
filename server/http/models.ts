/** Request and response shapes: the single source for validation and the OpenAPI document. */
import { type TSchema, t } from "elysia";
import type { ErrorCode } from "../core/errors";
import { HTTP_STATUS } from "./errors";

const Time = t.String({ format: "date-time", examples: ["2026-11-30T03:09:07.000Z"] });
const SessionId = t.String({ format: "uuid", examples: ["019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11"] });

/** The error body naming the codes one status can carry on one route. */
export function errorBody(...codes: ErrorCode[]) {
  return t.Object(
    {
      error: codes.length === 1 ? t.Literal(codes[0]) : t.Union(codes.map((code) => t.Literal(code))),
      message: t.String({ description: "For humans; never repeats submitted values." }),
    },
    { examples: [{ error: codes[0], message: "…" }], description: `Error: ${codes.join(" or ")}` },
  );
}

/** Error responses of a route, keyed by their HTTP status, from the codes it can answer with. */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus: Record<number, ErrorCode[]> = {};
  for (const code of codes) {
    byStatus[HTTP_STATUS[code]] ??= [];
    byStatus[HTTP_STATUS[code]].push(code);
  }
  return Object.fromEntries(Object.entries(byStatus).map(([status, list]) => [status, errorBody(...list)]));
}

/** What every JSON-body endpoint can answer before its handler runs. */
export const BODY_ERRORS: ErrorCode[] = [
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
  "unavailable",
];

/** Request bodies ignore unknown fields (CONTRACT §1); only the named ones reach the core. */
const open = { additionalProperties: true } as const;

export const CreateSessionBody = t.Object(
  {
    user_id: t.String({ description: "1–128 characters, no control characters.", examples: ["user-42"] }),
    user_agent: t.Optional(
      t.String({ description: "Control characters removed, cut to 512 code points.", examples: ["Mozilla/5.0"] }),
    ),
    ip: t.Optional(t.String({ description: "IPv4 or IPv6 literal; stored canonical.", examples: ["203.0.113.7"] })),
    claims: t.Optional(
      t.Object(
        {},
        {
          additionalProperties: true,
          description: "Extra access-token claims (≤ 2 KiB as JSON, no registered names).",
          examples: [{ role: "admin" }],
        },
      ),
    ),
    dpop_jkt: t.Optional(
      t.String({
        description: "Binds the session to a DPoP key: its RFC 7638 SHA-256 thumbprint, base64url (43 characters).",
        examples: ["0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"],
      }),
    ),
  },
  open,
);

export const RenameBody = t.Object(
  {
    name: t.Nullable(
      t.String({ description: "1–64 characters, no control characters; null clears it.", examples: ["Work laptop"] }),
    ),
  },
  open,
);

export const RefreshBody = t.Object(
  { refresh_token: t.String({ examples: ["q3Xv…"] }), user_agent: t.Optional(t.String()), ip: t.Optional(t.String()) },
  open,
);

export const RefreshTokenBody = t.Object({ refresh_token: t.String({ examples: ["q3Xv…"] }) }, open);

/**
 * Success bodies are built by our own typed code and asserted field by field in the tests, so they
 * are documented but not re-checked on every answer (Elysia's noValidate): the check of the
 * date-time and uuid formats alone took about a tenth of the CPU of GET /session/me.
 */
const answerOnly = <T extends TSchema>(schema: T): T =>
  // Elysia's t.NoValidate flag, but not enumerable: it would otherwise be printed into /docs/json.
  Object.defineProperty(schema, "noValidate", { value: true, enumerable: false });

/**
 * answerOnly for a union: Elysia copies a union on its way into the validator, and a non-enumerable
 * flag does not survive the copy (POST /session/validate re-checked every answer, its uuid and three
 * date-times included: ~5 % of its CPU). Enumerable here; docs.ts leaves it out of /docs/json.
 */
const answerOnlyUnion = <T extends TSchema>(schema: T): T => Object.assign(schema, { noValidate: true });

export const TokenPairBody = answerOnly(
  t.Object({
    session_id: SessionId,
    user_id: t.String(),
    token_type: t.Literal("Bearer"),
    access_token: t.String({ description: "JWS, typ at+jwt" }),
    expires_in: t.Integer({ examples: [900] }),
    refresh_token: t.String({ description: "Opaque, 256 bits; only its keyed hash is stored." }),
    refresh_token_expires_at: Time,
    refresh_token_bound: t.Optional(t.Literal(true, { description: "Present for a session bound to a DPoP key." })),
  }),
);

export const IntrospectionBody = answerOnlyUnion(
  t.Union([
    t.Object({
      active: t.Literal(true),
      session_id: SessionId,
      user_id: t.String(),
      created_at: Time,
      last_used_at: Time,
      expires_at: Time,
      bound: t.Optional(t.Literal(true)),
    }),
    t.Object({ active: t.Literal(false) }),
  ]),
);

/** What the stored user agent says (server/core/device.ts); null when none is stored. */
export const DeviceBody = t.Nullable(
  t.Object(
    {
      browser: t.Nullable(t.String({ examples: ["Safari"] })),
      browser_version: t.Nullable(t.String({ examples: ["17.5"] })),
      os: t.Nullable(t.String({ examples: ["iOS"] })),
      os_version: t.Nullable(t.String({ examples: ["17.5"] })),
      type: t.Union([t.Literal("desktop"), t.Literal("mobile"), t.Literal("tablet"), t.Literal("other")], {
        description: "TVs, consoles, wearables, bots and anything unrecognised are other.",
      }),
    },
    { description: "Read from the stored user_agent by a user-agent parser; null when no user agent is stored." },
  ),
);

export const SessionViewBody = t.Object({
  session_id: SessionId,
  user_agent: t.Nullable(t.String()),
  ip: t.Nullable(t.String()),
  created_at: Time,
  last_used_at: Time,
  expires_at: Time,
  current: t.Boolean(),
  name: t.Nullable(t.String({ description: "What the user called the session (PATCH /session/{id})." })),
  bound: t.Optional(t.Literal(true, { description: "Present for a session bound to a DPoP key." })),
  device: DeviceBody,
});

export const SessionAnswerBody = answerOnly(SessionViewBody);

export const MySessionsBody = answerOnly(t.Object({ sessions: t.Array(SessionViewBody) }));
export const RevokedCountBody = answerOnly(t.Object({ revoked: t.Integer({ examples: [3] }) }));
export const EmptyBody = t.Object({});
export const JwksBody = t.Object({
  keys: t.Array(
    t.Object(
      {
        kty: t.String({ examples: ["OKP"] }),
        kid: t.String(),
        alg: t.String({ examples: ["EdDSA"] }),
        use: t.Literal("sig"),
      },
      { additionalProperties: true, description: "Public members only" },
    ),
  ),
});
export const ChecksBody = t.Object({
  checks: t.Object({ store: t.String({ examples: ["ok"] }), events: t.String({ examples: ["disabled"] }) }),
});
