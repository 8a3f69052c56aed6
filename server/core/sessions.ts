/**
 * The session use cases of CONTRACT §3, free of HTTP, CLI, NATS and SQL. "Not valid" is an error
 * code (ServiceError), never a leaked detail: every refresh failure is the same invalid_grant.
 */
import type { AccessTokens } from "./access-tokens";
import { type Device, deviceOf } from "./device";
import { ServiceError } from "./errors";
import { type CloudEvent, eventFactory, iso } from "./events";
import { canonicalIp, checkClaims, checkUserId, cleanUserAgent } from "./input";
import {
  type Clock,
  type EventFactory,
  type RevokeReason,
  type SessionObserver,
  type SessionRow,
  type SessionStore,
  silentObserver,
} from "./ports";
import { constantTimeEqual, deriveChildToken, hashSecret, mintRefreshToken, newRotationNonce } from "./refresh-tokens";
import type { DerivedSecrets } from "./secrets";

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
}

export interface RefreshInput {
  refreshToken: string;
  userAgent?: string;
  ip?: string;
}

export interface TokenPair {
  session_id: string;
  user_id: string;
  token_type: "Bearer";
  access_token: string;
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_at: string;
}

export type Introspection =
  | { active: true; session_id: string; user_id: string; created_at: string; last_used_at: string; expires_at: string }
  | { active: false };

export interface SessionView {
  session_id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
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
  device: deviceOf(row.userAgent),
});

export interface SessionServiceDeps {
  store: SessionStore;
  clock: Clock;
  tokens: AccessTokens;
  secrets: DerivedSecrets;
  settings: SessionSettings;
  newId: () => string;
  observer?: SessionObserver;
}

/** A factory that also keeps what it built, so the caller learns which events one store call wrote. */
function recording(factory: EventFactory, into: CloudEvent[]): EventFactory {
  const keep = (event: CloudEvent) => {
    into.push(event);
    return event;
  };
  return { created: (row) => keep(factory.created(row)), revoked: (row) => keep(factory.revoked(row)) };
}

export class SessionService {
  private readonly store: SessionStore;
  private readonly clock: Clock;
  private readonly tokens: AccessTokens;
  private readonly secrets: DerivedSecrets;
  private readonly settings: SessionSettings;
  private readonly newId: () => string;
  private readonly observer: SessionObserver;
  private readonly eventFactory: EventFactory;
  /** Called after a store call that wrote events has returned (committed): the relay wakes up. */
  onEventsCommitted: () => void = () => {};

  constructor(deps: SessionServiceDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.tokens = deps.tokens;
    this.secrets = deps.secrets;
    this.settings = deps.settings;
    this.newId = deps.newId;
    this.eventFactory = eventFactory(deps.newId);
    this.observer = deps.observer ?? silentObserver;
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
    return hashSecret(this.secrets.tokenHashKey, refreshToken);
  }

  async create(input: CreateInput): Promise<TokenPair> {
    const userId = checkUserId(input.userId);
    const userAgent = input.userAgent === undefined ? null : cleanUserAgent(input.userAgent);
    const ip = input.ip === undefined ? null : canonicalIp(input.ip);
    const claims = checkClaims(input.claims);
    const now = this.clock.now();
    const refreshToken = mintRefreshToken();
    const absoluteExpiresAt = now + this.settings.sessionMaxLifetimeMs;
    const row: SessionRow = {
      sessionId: this.newId(),
      userId,
      refreshTokenHash: this.hash(refreshToken),
      previousTokenHash: null,
      rotationNonce: null,
      rotatedAt: null,
      rotationCount: 0,
      userAgent,
      ip,
      claims,
      createdAt: now,
      lastUsedAt: now,
      absoluteExpiresAt,
      expiresAt: Math.min(absoluteExpiresAt, now + this.settings.sessionIdleTimeoutMs),
      accessExpiresAt: this.tokens.expiresAt(now),
      revokedAt: null,
      revokeReason: null,
    };
    const created = await this.committed((events) =>
      this.store.createSession({ row, maxSessionsPerUser: this.settings.maxSessionsPerUser }, events),
    );
    if (!created) throw new ServiceError("user_deleted");
    return this.pair(created.row, refreshToken, now);
  }

  async refresh(input: RefreshInput): Promise<TokenPair> {
    const userAgent = input.userAgent === undefined ? undefined : cleanUserAgent(input.userAgent);
    const ip = input.ip === undefined ? undefined : canonicalIp(input.ip);
    const now = this.clock.now();
    const presented = input.refreshToken;
    const nonce = newRotationNonce();
    const child = deriveChildToken(this.secrets.tokenDeriveKey, presented, nonce);
    const result = await this.committed((events) =>
      this.store.rotate(
        {
          presentedHash: this.hash(presented),
          newHash: this.hash(child),
          nonce,
          now,
          idleTimeoutMs: this.settings.sessionIdleTimeoutMs,
          graceMs: this.settings.refreshReuseGraceMs,
          accessExpiresAt: this.tokens.expiresAt(now),
          userAgent,
          ip,
        },
        events,
      ),
    );
    if (result.kind === "rotated") {
      this.observer.refreshed("rotated", result.row);
      return this.pair(result.row, child, now);
    }
    if (result.kind === "grace_replay") {
      // The same child the first answer carried: re-derived from the nonce kept in the row.
      const again = deriveChildToken(this.secrets.tokenDeriveKey, presented, result.row.rotationNonce!);
      if (constantTimeEqual(this.hash(again), result.row.refreshTokenHash)) {
        this.observer.refreshed("grace_replay", result.row);
        return this.pair(result.row, again, now);
      }
    }
    this.observer.refreshed(
      result.kind === "grace_replay" ? "invalid" : result.kind,
      "row" in result ? result.row : null,
    );
    throw new ServiceError("invalid_grant");
  }

  /** Read-only introspection of a refresh token. */
  async validate(refreshToken: string): Promise<Introspection> {
    const row = await this.store.findActiveByTokenHash(this.hash(refreshToken), this.clock.now());
    if (!row) return { active: false };
    return {
      active: true,
      session_id: row.sessionId,
      user_id: row.userId,
      created_at: iso(row.createdAt),
      last_used_at: iso(row.lastUsedAt),
      expires_at: iso(row.expiresAt),
    };
  }

  /** Logout with the refresh token; answers the same whether or not the token was known. */
  async revokeByRefreshToken(refreshToken: string): Promise<void> {
    const hash = this.hash(refreshToken);
    await this.committed((events) =>
      this.store.revokeByTokenHash(hash, this.clock.now(), this.settings.refreshReuseGraceMs, events),
    );
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
    return rows.map((row) => ({ ...sessionView(row), current: row.sessionId === caller.sessionId }));
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

  private async pair(row: SessionRow, refreshToken: string, now: number): Promise<TokenPair> {
    const access = await this.tokens.issue(row, now);
    return {
      session_id: row.sessionId,
      user_id: row.userId,
      token_type: "Bearer",
      access_token: access.token,
      expires_in: Math.floor(this.settings.accessTokenTtlMs / 1000),
      refresh_token: refreshToken,
      refresh_token_expires_at: iso(row.expiresAt),
    };
  }
}
