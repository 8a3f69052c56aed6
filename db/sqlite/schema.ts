/** SQLite schema. Times are epoch milliseconds (integers), the same numbers the core uses. */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const sessions = sqliteTable(
  "sessions",
  {
    sessionId: text("session_id").primaryKey(),
    userId: text("user_id").notNull(),
    /** HMAC of the current refresh token; never the token. */
    refreshTokenHash: text("refresh_token_hash").notNull(),
    /** HMAC of the token rotated most recently (grace window). */
    previousTokenHash: text("previous_token_hash"),
    rotationNonce: text("rotation_nonce"),
    rotatedAt: integer("rotated_at"),
    rotationCount: integer("rotation_count").notNull().default(0),
    userAgent: text("user_agent"),
    ip: text("ip"),
    claims: text("claims"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    absoluteExpiresAt: integer("absolute_expires_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    accessExpiresAt: integer("access_expires_at").notNull(),
    /** Set once, with revoke_reason, when the session is revoked; null while it is not. */
    revokedAt: integer("revoked_at"),
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
export const retiredRefreshTokens = sqliteTable(
  "retired_refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: text("session_id").notNull(),
  },
  (table) => [index("retired_refresh_tokens_session").on(table.sessionId)],
);

export const signingKeys = sqliteTable("signing_keys", {
  kid: text("kid").primaryKey(),
  alg: text("alg").notNull(),
  publicJwk: text("public_jwk").notNull(),
  privateKeyEncrypted: text("private_key_encrypted").notNull(),
  createdAt: integer("created_at").notNull(),
  activatesAt: integer("activates_at").notNull(),
  retiredAt: integer("retired_at"),
});

export const serviceClients = sqliteTable(
  "service_clients",
  {
    name: text("name").primaryKey(),
    keyHash: text("key_hash").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [uniqueIndex("service_clients_key_hash").on(table.keyHash)],
);

export const deletedUsers = sqliteTable("deleted_users", {
  userId: text("user_id").primaryKey(),
  deletedAt: integer("deleted_at").notNull(),
});

/** Transactional outbox: written with the change it reports, relayed to JetStream afterwards. */
export const outbox = sqliteTable(
  "outbox",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull().unique(),
    subject: text("subject").notNull(),
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
    sentAt: integer("sent_at"),
  },
  (table) => [index("outbox_sent_at").on(table.sentAt, table.seq)],
);

/** Leases that let one instance at a time do a singleton job (the outbox relay, keeping per-session order). */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  owner: text("owner").notNull(),
  expiresAt: integer("expires_at").notNull(),
});
