/**
 * PostgreSQL schema: the same tables, columns and indexes as db/sqlite/schema.ts. Times are
 * epoch milliseconds in `bigint` read as JS numbers (mode "number"), so the core sees exactly the
 * numbers the SQLite store gives it (ms stay far below 2^53).
 */
import { sql } from "drizzle-orm";
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
    /** The current token's generation; any older generation presented is reuse. */
    rotationCount: integer("rotation_count").notNull().default(0),
    userAgent: text("user_agent"),
    ip: text("ip"),
    claims: text("claims"),
    name: text("name"),
    dpopJkt: text("dpop_jkt"),
    /** MAC of the identity columns under SECRET_KEY (server/core/integrity.ts); '' for rows made before it. */
    mac: text("mac").notNull().default(""),
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
    // A user's unrevoked sessions only: creates and /session/me cost what the user holds now, not
    // every session they ever had.
    index("sessions_live_by_user").on(table.userId, table.lastUsedAt).where(sql`${table.revokedAt} is null`),
    index("sessions_user_created").on(table.userId, table.createdAt),
    index("sessions_expires_at").on(table.expiresAt),
    index("sessions_revoked_at").on(table.revokedAt).where(sql`${table.revokedAt} is not null`),
  ],
);

/** DPoP proof ids already used (CONTRACT §10), until they could no longer be replayed. */
export const dpopProofs = pgTable(
  "dpop_proofs",
  {
    jti: text("jti").primaryKey(),
    expiresAt: ms("expires_at").notNull(),
  },
  (table) => [index("dpop_proofs_expires_at").on(table.expiresAt)],
);

export const signingKeys = pgTable("signing_keys", {
  kid: text("kid").primaryKey(),
  alg: text("alg").notNull(),
  publicJwk: text("public_jwk").notNull(),
  privateKeyEncrypted: text("private_key_encrypted").notNull(),
  createdAt: ms("created_at").notNull(),
  activatesAt: ms("activates_at").notNull(),
  retiredAt: ms("retired_at"),
  /** MAC of every other column under SECRET_KEY (server/core/integrity.ts). */
  mac: text("mac").notNull().default(""),
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
