/**
 * What the domain needs from the outside world, one port per role (as Ory Kratos gives each
 * aggregate its own persister). An adapter under db/ implements them all and composes them into a
 * `SessionStore`; each consumer takes only the slices it uses, and a decorator (the hybrid cache)
 * wraps only the slice it changes. Adapters store and find: the rules (which token is current,
 * which session to evict, what "ended" means, how an event becomes an outbox row) live in the core.
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
  /** Rotations so far: the generation of the current refresh token (every token carries its own). */
  rotationCount: number;
  userAgent: string | null;
  ip: string | null;
  /** Extra access-token claims, as JSON text. */
  claims: string | null;
  /** What the user called the session (PATCH /session/{id}), or null. */
  name: string | null;
  /** RFC 7638 thumbprint of the DPoP key the session is bound to, or null when unbound. */
  dpopJkt: string | null;
  /** MAC over the columns that become token claims (session-integrity.ts); a row that fails it is never signed for. */
  mac: string;
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

export const isActive = (row: SessionRow, now: number) => sessionStatus(row, now) === "active";

/** Builds the outbox rows of a change inside the store's transaction (ids and times from the core). */
export interface EventFactory {
  /** `id`: for a store that must choose the event id itself (Redis: before or inside its script); otherwise a new one. */
  created(row: SessionRow, id?: string): CloudEvent;
  revoked(row: SessionRow, id?: string): CloudEvent;
}

/** A DPoP proof's `jti`, recorded once with the change it authorises and remembered until `expiresAt`. */
export interface ProofUse {
  jti: string;
  expiresAt: number;
}

/** The compare-and-swap of a refresh: applied only while `presentedHash` is the session's current token. */
export interface Rotation {
  sessionId: string;
  presentedHash: string;
  newHash: string;
  nonce: string;
  now: number;
  /** now + SESSION_IDLE_TIMEOUT; the stored deadline is the earlier of it and the absolute one. */
  idleDeadline: number;
  /** `exp` (ms) of the access token about to be issued. */
  accessExpiresAt: number;
  userAgent?: string;
  ip?: string;
  proof?: ProofUse;
}

/** A grace replay: applied only while `presentedHash` is the previous token and was rotated at or after `graceStart`. */
export interface GraceReplay {
  sessionId: string;
  presentedHash: string;
  graceStart: number;
  now: number;
  accessExpiresAt: number;
  userAgent?: string;
  ip?: string;
  proof?: ProofUse;
}

/** What a conditional write answers: the row as it is afterwards, null when its condition did not hold. */
export type ConditionalWrite = SessionRow | null | "proof_replayed";

/** The session aggregate: every change is one atomic transaction that also writes its events. */
export interface SessionRepository {
  /**
   * Inserts the session; when the user then holds more than `maxSessionsPerUser` active sessions
   * (0 = no limit) the store revokes the victims `evictionVictims` (core) picks, in the same
   * transaction. null: the user is marked deleted.
   */
  create(row: SessionRow, maxSessionsPerUser: number, events: EventFactory): Promise<CreateResult | null>;
  findSession(sessionId: string): Promise<SessionRow | null>;
  findActiveSession(sessionId: string, now: number): Promise<SessionRow | null>;
  /** The user's active sessions, in any order (the core sorts them: sessionOrder). */
  listActiveSessions(userId: string, now: number): Promise<SessionRow[]>;
  rotate(rotation: Rotation): Promise<ConditionalWrite>;
  replayGrace(replay: GraceReplay): Promise<ConditionalWrite>;
  /** Revokes one session if active. The row as it is afterwards (null when unknown or not `ownerUserId`'s). */
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
  /** Names an active session of `ownerUserId`; nothing else changes. null when there is no such session. */
  renameSession(sessionId: string, ownerUserId: string, name: string | null, now: number): Promise<SessionRow | null>;
}

export interface CreateResult {
  row: SessionRow;
  evicted: SessionRow[];
}

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
  /** MAC over every other column (signing-key-integrity): a planted or edited row is never published nor used. */
  mac: string;
}

export interface SigningKeyRepository {
  listSigningKeys(): Promise<SigningKeyRow[]>;
  insertSigningKey(row: SigningKeyRow): Promise<void>;
  /** Replaces the row of a live key by its retired version (retiredAt and mac set); false when there is none. */
  retireSigningKey(retired: SigningKeyRow): Promise<boolean>;
}

export interface ServiceClientRow {
  name: string;
  keyHash: string;
  createdAt: number;
}

export interface ServiceClientRepository {
  findServiceClientByHash(keyHash: string): Promise<ServiceClientRow | null>;
  listServiceClients(): Promise<ServiceClientRow[]>;
  addServiceClient(row: ServiceClientRow): Promise<boolean>;
  removeServiceClient(name: string): Promise<boolean>;
}

/** Named leases that let one instance at a time do a singleton job (relay, key rotation, purge). */
export interface Leases {
  /** Takes or renews the lease for `owner` until now + ttlMs, when it is free, expired or already ours. */
  acquireLease(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
}

export interface OutboxRow {
  id: string;
  seq: number;
  subject: string;
  payload: string;
  createdAt: number;
  sentAt: number | null;
}

export interface Outbox {
  /** Up to `limit` unsent events in commit order. */
  pendingEvents(limit: number): Promise<OutboxRow[]>;
  markEventsSent(ids: string[], now: number): Promise<void>;
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

/** What a purge deletes; the core computes the cut-offs (purgeCutoffs). */
export interface PurgeCutoffs {
  /** Sessions revoked at or before this. */
  revokedBefore: number;
  /** Unrevoked sessions whose deadline passed at or before this (never after now). */
  expiredBefore: number;
  /** Relayed events sent at or before this. */
  sentBefore: number;
  /** DPoP proof ids remembered until at or before this (now: they can no longer be replayed). */
  proofsBefore: number;
}

export interface PurgeResult {
  sessions: number;
  events: number;
}

/** Operator views and housekeeping (sessionctl, metrics, the purge schedule). */
export interface StoreAdmin {
  /** Newest first. */
  listSessions(filter: SessionFilter, now: number): Promise<SessionRow[]>;
  stats(now: number): Promise<StoreStats>;
  /** Deletes at most `batch` sessions and `batch` events matching the cut-offs (and expired proof ids). */
  purge(cutoffs: PurgeCutoffs, batch: number): Promise<PurgeResult>;
  /** What purge would delete, without deleting. */
  countPurgeable(cutoffs: PurgeCutoffs): Promise<PurgeResult>;
}

/** A full adapter: every role, plus its lifecycle. */
export interface SessionStore {
  sessions: SessionRepository;
  signingKeys: SigningKeyRepository;
  serviceClients: ServiceClientRepository;
  leases: Leases;
  outbox: Outbox;
  admin: StoreAdmin;
  /** A write that changes nothing, to prove the store can write (readiness). */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}

export type RefreshOutcome = "rotated" | "grace_replay" | "reuse_revoked" | "expired" | "invalid" | "dpop_refused";

/** What the core tells the outside (logs, metrics) about what happened; never a token or hash. */
export interface SessionObserver {
  refreshed(outcome: RefreshOutcome, row: SessionRow | null): void;
  /** The events that one committed change wrote. */
  committed(events: CloudEvent[]): void;
  /** A stored row failed its integrity check: it was not used. */
  tampered(what: "session" | "signing_key", id: string): void;
}

export const silentObserver: SessionObserver = { refreshed: () => {}, committed: () => {}, tampered: () => {} };
