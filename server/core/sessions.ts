/**
 * The session use cases of CONTRACT §3, free of HTTP, CLI, NATS and SQL. "Not valid" is an error
 * code (ServiceError), never a leaked detail: every refresh failure is the same invalid_grant.
 *
 * A refresh: the token's tag says which session and generation it is (refresh-tokens.ts). The
 * common case is one compare-and-swap in the store (the presented token is current). Anything
 * else is read, classified by the rules of session-rules.ts and acted on with a conditional write;
 * a write whose condition no longer holds (another request won the race) is read and classified
 * again, so the rules live here and the stores only store and find.
 */
import type { AccessTokens } from "./access-tokens";
import { type Device, deviceOf } from "./device";
import { type DpopCheck, type DpopProofs, noDpop } from "./dpop-port";
import { ServiceError } from "./errors";
import { type CloudEvent, eventFactory, iso } from "./events";
import { canonicalIp, checkClaims, checkDpopJkt, checkSessionName, checkUserId, cleanUserAgent } from "./input";
import { sessionIntact, sessionMac } from "./integrity";
import {
  type Clock,
  type ConditionalWrite,
  type EventFactory,
  type ProofUse,
  type RevokeReason,
  type SessionObserver,
  type SessionRepository,
  type SessionRow,
  silentObserver,
} from "./ports";
import {
  deriveChildToken,
  mintRefreshToken,
  newRotationNonce,
  readRefreshToken,
  type TokenIdentity,
} from "./refresh-tokens";
import { type DerivedSecrets, keyedHash } from "./secrets";
import { classifyToken, sessionOrder } from "./session-rules";

export interface SessionSettings {
  accessTokenTtlMs: number;
  sessionIdleTimeoutMs: number;
  sessionMaxLifetimeMs: number;
  refreshReuseGraceMs: number;
  maxSessionsPerUser: number;
}

export interface CreateInput {
  userId: string;
  userAgent?: string;
  ip?: string;
  claims?: unknown;
  dpopJkt?: string;
}

export interface RefreshInput {
  refreshToken: string;
  userAgent?: string;
  ip?: string;
  /** The DPoP header, for a session bound to a key (CONTRACT §10). */
  dpopProof?: string;
}

export interface TokenPair {
  session_id: string;
  user_id: string;
  token_type: "Bearer";
  access_token: string;
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_at: string;
  refresh_token_bound?: true;
}

export type Introspection =
  | {
      active: true;
      session_id: string;
      user_id: string;
      created_at: string;
      last_used_at: string;
      expires_at: string;
      bound?: true;
    }
  | { active: false };

export interface SessionView {
  session_id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  name: string | null;
  bound?: true;
  /** What the user agent says (parsed once per distinct user agent), null without one. */
  device: Readonly<Device> | null;
}

export interface Caller {
  userId: string;
  sessionId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isSessionId = (text: string) => UUID.test(text);

export const sessionView = (row: SessionRow): SessionView => ({
  session_id: row.sessionId,
  user_agent: row.userAgent,
  ip: row.ip,
  created_at: iso(row.createdAt),
  last_used_at: iso(row.lastUsedAt),
  expires_at: iso(row.expiresAt),
  name: row.name,
  ...(row.dpopJkt !== null ? { bound: true as const } : {}),
  device: deviceOf(row.userAgent),
});

export interface SessionServiceDeps {
  sessions: SessionRepository;
  clock: Clock;
  tokens: AccessTokens;
  secrets: DerivedSecrets;
  settings: SessionSettings;
  newId: () => string;
  observer?: SessionObserver;
  /** DPoP proof checking (CONTRACT §10); without it a bound session cannot be refreshed. */
  dpop?: DpopProofs;
}

/** A factory that also keeps what it built, so the caller learns which events one store call wrote. */
function recording(factory: EventFactory, into: CloudEvent[]): EventFactory {
  const keep = (event: CloudEvent) => {
    into.push(event);
    return event;
  };
  return {
    created: (row, id) => keep(factory.created(row, id)),
    revoked: (row, id) => keep(factory.revoked(row, id)),
  };
}

/** How often a refresh re-reads after losing a race; each loss means another request changed the session. */
const MAX_REFRESH_ROUNDS = 4;

export class SessionService {
  private readonly store: SessionRepository;
  private readonly clock: Clock;
  private readonly tokens: AccessTokens;
  private readonly secrets: DerivedSecrets;
  private readonly settings: SessionSettings;
  private readonly newId: () => string;
  private readonly observer: SessionObserver;
  private readonly eventFactory: EventFactory;
  private readonly dpop: DpopProofs;
  /** Called after a store call that wrote events has returned (committed): the relay wakes up. */
  onEventsCommitted: () => void = () => {};

  constructor(deps: SessionServiceDeps) {
    this.store = deps.sessions;
    this.clock = deps.clock;
    this.tokens = deps.tokens;
    this.secrets = deps.secrets;
    this.settings = deps.settings;
    this.newId = deps.newId;
    this.eventFactory = eventFactory(deps.newId);
    this.observer = deps.observer ?? silentObserver;
    this.dpop = deps.dpop ?? noDpop;
  }

  /**
   * Runs one store call with its own event factory; once the call has returned (committed), the
   * events it wrote wake the relay and reach the observer. A rolled-back call reports nothing.
   */
  private async committed<T>(work: (events: EventFactory) => Promise<T>): Promise<T> {
    const written: CloudEvent[] = [];
    const result = await work(recording(this.eventFactory, written));
    if (written.length > 0) {
      this.onEventsCommitted();
      this.observer.committed(written);
    }
    return result;
  }

  private hash(refreshToken: string): string {
    return keyedHash(this.secrets.tokenHashKey, refreshToken);
  }

  /** The row, when it passes its integrity check; a tampered row is reported and treated as absent. */
  private intact(row: SessionRow | null): SessionRow | null {
    if (!row || sessionIntact(this.secrets.integrityKey, row)) return row;
    this.observer.tampered("session", row.sessionId);
    return null;
  }

  async create(input: CreateInput): Promise<TokenPair> {
    const userId = checkUserId(input.userId);
    const userAgent = input.userAgent === undefined ? null : cleanUserAgent(input.userAgent);
    const ip = input.ip === undefined ? null : canonicalIp(input.ip);
    const claims = checkClaims(input.claims);
    const dpopJkt = input.dpopJkt === undefined ? null : checkDpopJkt(input.dpopJkt);
    const now = this.clock.now();
    const sessionId = this.newId();
    const refreshToken = mintRefreshToken(this.secrets, sessionId, dpopJkt !== null);
    const absoluteExpiresAt = now + this.settings.sessionMaxLifetimeMs;
    const identity = { sessionId, userId, claims, dpopJkt, createdAt: now, absoluteExpiresAt };
    const row: SessionRow = {
      ...identity,
      refreshTokenHash: this.hash(refreshToken),
      previousTokenHash: null,
      rotationNonce: null,
      rotatedAt: null,
      rotationCount: 0,
      userAgent,
      ip,
      name: null,
      mac: sessionMac(this.secrets.integrityKey, identity),
      lastUsedAt: now,
      expiresAt: Math.min(absoluteExpiresAt, now + this.settings.sessionIdleTimeoutMs),
      accessExpiresAt: this.tokens.expiresAt(now),
      revokedAt: null,
      revokeReason: null,
    };
    // Signed before the commit: once the session and its event are committed, nothing can fail.
    const access = await this.tokens.issue(row, now);
    const created = await this.committed((events) => this.store.create(row, this.settings.maxSessionsPerUser, events));
    if (!created) throw new ServiceError("user_deleted");
    return this.pair(created.row, refreshToken, access.token);
  }

  async refresh(input: RefreshInput): Promise<TokenPair> {
    const userAgent = input.userAgent === undefined ? undefined : cleanUserAgent(input.userAgent);
    const ip = input.ip === undefined ? undefined : canonicalIp(input.ip);
    const presented = input.refreshToken;
    const identity = readRefreshToken(this.secrets, presented);
    if (!identity) return this.refused("invalid", null);
    // The signer is ready before anything commits: a rotation is never left without its answer.
    await this.tokens.ready();
    const now = this.clock.now();
    const hash = this.hash(presented);
    const nonce = newRotationNonce();
    const child = deriveChildToken(this.secrets, presented, identity, nonce);
    const common = { sessionId: identity.sessionId, now, accessExpiresAt: this.tokens.expiresAt(now), userAgent, ip };
    const rotation = {
      ...common,
      presentedHash: hash,
      newHash: this.hash(child),
      nonce,
      idleDeadline: now + this.settings.sessionIdleTimeoutMs,
    };

    // An unbound session's current token: one compare-and-swap, no read before it.
    if (!identity.bound) {
      const rotated = await this.store.rotate(rotation);
      if (rotated !== null && rotated !== "proof_replayed") return this.rotatedAnswer(rotated, child, now);
    }
    for (let round = 0; round < MAX_REFRESH_ROUNDS; round++) {
      const row = this.intact(await this.store.findSession(identity.sessionId));
      const verdict = classifyToken(
        row,
        { hash, generation: identity.generation },
        now,
        this.settings.refreshReuseGraceMs,
      );
      if (!row || verdict === "invalid" || verdict === "expired")
        return this.refused(verdict === "expired" ? "expired" : "invalid", row);
      // A bound session: the proof decides before anything changes (no rotation, no reuse verdict).
      let proof: ProofUse | undefined;
      if (row.dpopJkt !== null) {
        const checked = await this.dpop.check(input.dpopProof, row.dpopJkt, now);
        if (!checked.ok) return this.refusedProof(checked, row);
        proof = checked.use;
      }
      if (verdict === "reuse") {
        const revoked = await this.committed((events) =>
          this.store.revokeSession(row.sessionId, null, "refresh_token_reuse", now, events),
        );
        return this.refused(revoked?.changed ? "reuse_revoked" : "invalid", revoked?.row ?? row);
      }
      const written: ConditionalWrite =
        verdict === "current"
          ? await this.store.rotate({ ...rotation, proof })
          : await this.store.replayGrace({
              ...common,
              presentedHash: hash,
              graceStart: now - this.settings.refreshReuseGraceMs,
              proof,
            });
      if (written === "proof_replayed") return this.refusedProof({ ok: false, code: "invalid_dpop_proof" }, row);
      if (written === null) continue; // the session changed meanwhile: read and classify again
      if (verdict === "current") return this.rotatedAnswer(written, child, now);
      return this.graceAnswer(written, presented, identity, now);
    }
    // Only a storm of concurrent changes to one session gets here; the client may retry.
    throw new ServiceError("unavailable");
  }

  private async rotatedAnswer(row: SessionRow, child: string, now: number): Promise<TokenPair> {
    if (!this.intact(row)) return this.refused("invalid", null);
    this.observer.refreshed("rotated", row);
    return this.pair(row, child, (await this.tokens.issue(row, now)).token);
  }

  /** The same child the first answer carried: re-derived from the nonce kept in the row. */
  private async graceAnswer(
    row: SessionRow,
    presented: string,
    identity: TokenIdentity,
    now: number,
  ): Promise<TokenPair> {
    const again = deriveChildToken(this.secrets, presented, identity, row.rotationNonce ?? "");
    if (!this.intact(row) || this.hash(again) !== row.refreshTokenHash) return this.refused("invalid", row);
    this.observer.refreshed("grace_replay", row);
    return this.pair(row, again, (await this.tokens.issue(row, now)).token);
  }

  private refused(outcome: "invalid" | "expired" | "reuse_revoked", row: SessionRow | null): never {
    this.observer.refreshed(outcome, row);
    throw new ServiceError("invalid_grant");
  }

  private refusedProof(failure: Exclude<DpopCheck, { ok: true }>, row: SessionRow): never {
    this.observer.refreshed("dpop_refused", row);
    throw new ServiceError(failure.code);
  }

  /** The session of a refresh token that is its current one, active and intact; null otherwise. */
  private async currentSession(refreshToken: string): Promise<SessionRow | null> {
    const identity = readRefreshToken(this.secrets, refreshToken);
    if (!identity) return null;
    const row = this.intact(await this.store.findActiveSession(identity.sessionId, this.clock.now()));
    return row && row.refreshTokenHash === this.hash(refreshToken) ? row : null;
  }

  /** Read-only introspection of a refresh token. */
  async validate(refreshToken: string): Promise<Introspection> {
    const row = await this.currentSession(refreshToken);
    if (!row) return { active: false };
    return {
      active: true,
      session_id: row.sessionId,
      user_id: row.userId,
      created_at: iso(row.createdAt),
      last_used_at: iso(row.lastUsedAt),
      expires_at: iso(row.expiresAt),
      ...(row.dpopJkt !== null ? { bound: true as const } : {}),
    };
  }

  /** Logout with the refresh token; answers the same whether or not the token was known. */
  async revokeByRefreshToken(refreshToken: string): Promise<void> {
    const identity = readRefreshToken(this.secrets, refreshToken);
    if (!identity) return;
    const now = this.clock.now();
    const row = this.intact(await this.store.findSession(identity.sessionId));
    const presented = { hash: this.hash(refreshToken), generation: identity.generation };
    const verdict = classifyToken(row, presented, now, this.settings.refreshReuseGraceMs);
    if (!row || (verdict !== "current" && verdict !== "grace" && verdict !== "reuse")) return;
    const reason: RevokeReason = verdict === "reuse" ? "refresh_token_reuse" : "logout";
    await this.committed((events) => this.store.revokeSession(row.sessionId, null, reason, now, events));
  }

  /** The caller behind an access token whose session is still active, or invalid_token. */
  async authenticate(accessToken: string): Promise<Caller> {
    const now = this.clock.now();
    const claimed = await this.claimedCaller(accessToken, now);
    const row = await this.store.findActiveSession(claimed.sessionId, now);
    if (!row || row.userId !== claimed.userId) throw new ServiceError("invalid_token");
    return claimed;
  }

  /** Who a valid access token says it is; whether that session is still active is for the caller to check. */
  private async claimedCaller(accessToken: string, now: number): Promise<Caller> {
    const claims = await this.tokens.verify(accessToken, now);
    if (!isSessionId(claims.sid)) throw new ServiceError("invalid_token");
    return { userId: claims.sub, sessionId: claims.sid };
  }

  /** Logs out one of the caller's sessions. Unknown and foreign ids are the same not_found. */
  async revokeOwn(caller: Caller, sessionId: string): Promise<void> {
    if (!isSessionId(sessionId)) throw new ServiceError("not_found");
    const result = await this.committed((events) =>
      this.store.revokeSession(sessionId, caller.userId, "logout", this.clock.now(), events),
    );
    if (!result) throw new ServiceError("not_found");
  }

  async revokeAllOwn(caller: Caller, keepCurrent: boolean): Promise<number> {
    const reason: RevokeReason = keepCurrent ? "logout_others" : "logout_all";
    const keep = keepCurrent ? caller.sessionId : undefined;
    return this.committed((events) =>
      this.store.revokeUserSessions(caller.userId, reason, this.clock.now(), events, keep),
    );
  }

  /**
   * The active sessions of the access token's user, most recently used first. One store read that
   * is also the authentication: the token's own session must be among them (same rule as
   * authenticate), otherwise invalid_token.
   */
  async listOwn(accessToken: string): Promise<Array<SessionView & { current: boolean }>> {
    const now = this.clock.now();
    const caller = await this.claimedCaller(accessToken, now);
    const rows = await this.store.listActiveSessions(caller.userId, now);
    if (!rows.some((row) => row.sessionId === caller.sessionId)) throw new ServiceError("invalid_token");
    return rows.sort(sessionOrder).map((row) => ({ ...sessionView(row), current: row.sessionId === caller.sessionId }));
  }

  /** Names one of the caller's active sessions (or clears the name). Unknown, foreign and ended ids are the same not_found. */
  async renameOwn(caller: Caller, sessionId: string, name: string | null): Promise<SessionView & { current: boolean }> {
    const checked = name === null ? null : checkSessionName(name);
    if (!isSessionId(sessionId)) throw new ServiceError("not_found");
    const row = await this.store.renameSession(sessionId, caller.userId, checked, this.clock.now());
    if (!row) throw new ServiceError("not_found");
    return { ...sessionView(row), current: row.sessionId === caller.sessionId };
  }

  /** Operator revocation (reason admin). Returns whether it changed anything; not_found when unknown. */
  async revokeByAdmin(sessionId: string): Promise<boolean> {
    const result = isSessionId(sessionId)
      ? await this.committed((events) => this.store.revokeSession(sessionId, null, "admin", this.clock.now(), events))
      : null;
    if (!result) throw new ServiceError("not_found");
    return result.changed;
  }

  async revokeUserByAdmin(userId: string): Promise<number> {
    return this.committed((events) => this.store.revokeUserSessions(userId, "admin", this.clock.now(), events));
  }

  /** `user.deleted`: revoke everything and refuse new sessions. Idempotent. */
  async deleteUser(userId: string): Promise<number> {
    return this.committed((events) => this.store.deleteUser(userId, this.clock.now(), events));
  }

  private pair(row: SessionRow, refreshToken: string, accessToken: string): TokenPair {
    return {
      session_id: row.sessionId,
      user_id: row.userId,
      token_type: "Bearer",
      access_token: accessToken,
      expires_in: Math.floor(this.settings.accessTokenTtlMs / 1000),
      refresh_token: refreshToken,
      refresh_token_expires_at: iso(row.expiresAt),
      ...(row.dpopJkt !== null ? { refresh_token_bound: true as const } : {}),
    };
  }
}
