/**
 * PostgreSQL schema: the same tables, columns and indexes as db/sqlite/schema.ts. Times are
 * epoch milliseconds in `bigint` read as JS numbers (mode "number"), so the core sees exactly the
 * numbers the SQLite store gives it (ms stay far below 2^53).
 */
import { bigint, bigserial, index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";

const ms = (name: string) => bigint(name, { mode: "number" });

export const sessions = pgTable(
  "sessions",
  {
    sessionId: text("session_id").primaryKey(),
    userId: text("user_id").notNull(),
    /** HMAC of the current refresh token; never the token. */
    refreshTokenHash: text("refresh_token_hash").notNull(),
    /** HMAC of the token rotated most recently (grace window). */
    previousTokenHash: text("previous_token_hash"),
    rotationNonce: text("rotation_nonce"),
    rotatedAt: ms("rotated_at"),
    rotationCount: integer("rotation_count").notNull().default(0),
    userAgent: text("user_agent"),
    ip: text("ip"),
    claims: text("claims"),
    createdAt: ms("created_at").notNull(),
    lastUsedAt: ms("last_used_at").notNull(),
    absoluteExpiresAt: ms("absolute_expires_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    accessExpiresAt: ms("access_expires_at").notNull(),
    /** Set once, with revoke_reason, when the session is revoked; null while it is not. */
    revokedAt: ms("revoked_at"),
    revokeReason: text("revoke_reason"),
  },
  (table) => [
    uniqueIndex("sessions_refresh_token_hash").on(table.refreshTokenHash),
    index("sessions_previous_token_hash").on(table.previousTokenHash),
    index("sessions_user_last_used").on(table.userId, table.lastUsedAt),
    index("sessions_expires_at").on(table.expiresAt),
  ],
);

/** Hashes of every refresh token that was rotated away, to recognise reuse of any older token. */
export const retiredRefreshTokens = pgTable(
  "retired_refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: text("session_id").notNull(),
  },
  (table) => [index("retired_refresh_tokens_session").on(table.sessionId)],
);

export const signingKeys = pgTable("signing_keys", {
  kid: text("kid").primaryKey(),
  alg: text("alg").notNull(),
  publicJwk: text("public_jwk").notNull(),
  privateKeyEncrypted: text("private_key_encrypted").notNull(),
  createdAt: ms("created_at").notNull(),
  activatesAt: ms("activates_at").notNull(),
  retiredAt: ms("retired_at"),
});

export const serviceClients = pgTable(
  "service_clients",
  {
    name: text("name").primaryKey(),
    keyHash: text("key_hash").notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (table) => [uniqueIndex("service_clients_key_hash").on(table.keyHash)],
);

export const deletedUsers = pgTable("deleted_users", {
  userId: text("user_id").primaryKey(),
  deletedAt: ms("deleted_at").notNull(),
});

/**
 * Transactional outbox: written with the change it reports, relayed to JetStream afterwards.
 * `seq` comes from a sequence, so it is allocation order, not commit order; for one session the
 * order still holds, because its `revoked` row is written only after its `created` row committed.
 */
export const outbox = pgTable(
  "outbox",
  {
    seq: bigserial("seq", { mode: "number" }).primaryKey(),
    id: text("id").notNull().unique(),
    subject: text("subject").notNull(),
    payload: text("payload").notNull(),
    createdAt: ms("created_at").notNull(),
    sentAt: ms("sent_at"),
  },
  (table) => [index("outbox_sent_at").on(table.sentAt, table.seq)],
);

/** Leases that let one instance at a time do a singleton job (the outbox relay, keeping per-session order). */
export const leases = pgTable("leases", {
  name: text("name").primaryKey(),
  owner: text("owner").notNull(),
  expiresAt: ms("expires_at").notNull(),
});
