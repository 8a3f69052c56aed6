/**
 * What the domain needs from the outside world. The core imports nothing but these interfaces;
 * adapters under db/ implement SessionStore, tests may pass a fake Clock.
 * All times are epoch milliseconds.
 */
import type { CloudEvent } from "./events";

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export type RevokeReason =
  | "logout"
  | "logout_others"
  | "logout_all"
  | "refresh_token_reuse"
  | "session_limit"
  | "user_deleted"
  | "admin";

export interface SessionRow {
  sessionId: string;
  userId: string;
  /** Keyed hash of the current refresh token. */
  refreshTokenHash: string;
  /** Keyed hash of the token rotated most recently (the parent of the current one), for the grace window. */
  previousTokenHash: string | null;
  /** Random nonce from which the current token was derived from its parent; lets a grace replay re-derive it. */
  rotationNonce: string | null;
  rotatedAt: number | null;
  rotationCount: number;
  userAgent: string | null;
  ip: string | null;
  /** Extra access-token claims, as JSON text. */
  claims: string | null;
  createdAt: number;
  lastUsedAt: number;
  /** created_at + SESSION_MAX_LIFETIME; never moves. */
  absoluteExpiresAt: number;
  /** The earlier of the idle and absolute deadlines; moves on refresh. */
  expiresAt: number;
  /** Latest `exp` of an access token issued for this session. */
  accessExpiresAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
}

export type SessionStatus = "active" | "revoked" | "expired";

export const sessionStatus = (row: SessionRow, now: number): SessionStatus =>
  row.revokedAt !== null ? "revoked" : row.expiresAt <= now ? "expired" : "active";

/** Builds the outbox rows of a change inside the store's transaction (ids and times from the core). */
export interface EventFactory {
  created(row: SessionRow): CloudEvent;
  revoked(row: SessionRow): CloudEvent;
}

export interface NewSession {
  row: SessionRow;
  maxSessionsPerUser: number;
}

export interface RotateInput {
  presentedHash: string;
  newHash: string;
  nonce: string;
  now: number;
  idleTimeoutMs: number;
  graceMs: number;
  /** `exp` (ms) of the access token about to be issued. */
  accessExpiresAt: number;
  userAgent?: string;
  ip?: string;
}

export type RotateResult =
  | { kind: "rotated"; row: SessionRow }
  | { kind: "grace_replay"; row: SessionRow }
  | { kind: "reuse_revoked"; row: SessionRow }
  /** The presented token is the current one of a session that ran past its deadline. */
  | { kind: "expired" }
  | { kind: "invalid" };

export type RefreshOutcome = "rotated" | "grace_replay" | "reuse_revoked" | "expired" | "invalid";

/** What the core tells the outside (logs, metrics) about what happened; never a token or hash. */
export interface SessionObserver {
  refreshed(outcome: RefreshOutcome, row: SessionRow | null): void;
  /** The events that one committed change wrote. */
  committed(events: CloudEvent[]): void;
}

export const silentObserver: SessionObserver = { refreshed: () => {}, committed: () => {} };

export type TokenRevokeResult = "logout" | "refresh_token_reuse" | "unknown";

export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: string;
  /** Private JWK encrypted under SECRET_KEY (AES-256-GCM), base64url. */
  privateKeyEncrypted: string;
  createdAt: number;
  /** From when it signs. Published in the JWKS from createdAt. */
  activatesAt: number;
  /** Set when an operator retires it: it neither signs nor verifies any more. */
  retiredAt: number | null;
}

export interface ServiceClientRow {
  name: string;
  keyHash: string;
  createdAt: number;
}

export interface OutboxRow {
  id: string;
  seq: number;
  subject: string;
  payload: string;
  createdAt: number;
  sentAt: number | null;
}

export interface SessionFilter {
  userId?: string;
  status?: SessionStatus | "all";
  limit?: number;
}

export interface StoreStats {
  sessions: Record<SessionStatus, number>;
  users: number;
  events: { pending: number; oldestPendingCreatedAt: number | null };
}

export interface PurgeResult {
  sessions: number;
  events: number;
}

/**
 * The storage interface. Every method that changes state is one atomic transaction which also
 * writes the outbox rows of the events it causes. Errors the caller can do nothing about but wait
 * surface as ServiceError("unavailable").
 */
export interface SessionStore {
  /** Inserts the session, evicting the least recently used ones beyond the cap. null: the user is deleted. */
  createSession(input: NewSession, events: EventFactory): Promise<{ row: SessionRow; evicted: SessionRow[] } | null>;
  /** Compare-and-swap rotation, grace replay, or reuse revocation — one transaction. */
  rotate(input: RotateInput, events: EventFactory): Promise<RotateResult>;
  /** The active session whose current token has this hash. Read-only. */
  findActiveByTokenHash(hash: string, now: number): Promise<SessionRow | null>;
  /** Revocation by refresh token (current or in grace: logout; older: reuse). */
  revokeByTokenHash(hash: string, now: number, graceMs: number, events: EventFactory): Promise<TokenRevokeResult>;
  findSession(sessionId: string): Promise<SessionRow | null>;
  findActiveSession(sessionId: string, now: number): Promise<SessionRow | null>;
  /** Revokes one session if active. Returns the row as it is afterwards (null when unknown or not the user's). */
  revokeSession(
    sessionId: string,
    ownerUserId: string | null,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
  ): Promise<{ row: SessionRow; changed: boolean } | null>;
  /** Revokes every active session of the user except `keepSessionId`. Returns how many. */
  revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    events: EventFactory,
    keepSessionId?: string,
  ): Promise<number>;
  /** Marks the user deleted and revokes all their sessions. Returns how many were revoked. */
  deleteUser(userId: string, now: number, events: EventFactory): Promise<number>;
  isUserDeleted(userId: string): Promise<boolean>;
  listActiveSessions(userId: string, now: number): Promise<SessionRow[]>;
  listSessions(filter: SessionFilter, now: number): Promise<SessionRow[]>;
  stats(now: number): Promise<StoreStats>;
  /** Deletes sessions that ended before `endedBefore` and relayed events sent before it, at most `batch` of each. */
  purge(endedBefore: number, batch: number, dryRun: boolean, now: number): Promise<PurgeResult>;

  listSigningKeys(): Promise<SigningKeyRow[]>;
  insertSigningKey(row: SigningKeyRow): Promise<void>;
  retireSigningKey(kid: string, now: number): Promise<boolean>;

  findServiceClientByHash(keyHash: string): Promise<ServiceClientRow | null>;
  listServiceClients(): Promise<ServiceClientRow[]>;
  addServiceClient(row: ServiceClientRow): Promise<boolean>;
  removeServiceClient(name: string): Promise<boolean>;

  /**
   * Takes or renews the named lease for `owner` until now + ttlMs, when it is free, expired or
   * already ours. One relay at a time publishes, so events of a session keep their order.
   */
  acquireLease(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
  /** Up to `limit` unsent events in commit order. */
  pendingEvents(limit: number): Promise<OutboxRow[]>;
  markEventsSent(ids: string[], now: number): Promise<void>;

  /** A write that changes nothing, to prove the store can write (readiness). */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}
