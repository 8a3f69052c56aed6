/** createVerifier (CONTRACT §9): keys, revocations and the memo of verified tokens, composed. */
import { VerifierError } from "./errors.js";
import { KeySet } from "./jwks.js";
import { VerifiedTokens } from "./memo.js";
import { type RevocationState, settingsFrom, type VerifierOptions } from "./options.js";
import { Revocations } from "./revocations.js";
import { type AccessTokenClaims, COMPACT_JWS, verifyAccessToken } from "./token.js";

export interface VerifierStatus {
  /** Usable keys in the current JWKS. */
  keys: number;
  revocations: RevocationState;
  /** Revoked sessions remembered (each until its last access token expires). */
  tracked: number;
  /** Milliseconds since the stream was last heard from (a message or a heartbeat); null without `nats`. */
  lagMs: number | null;
  /** *Extra*: revocation events that could not be read completely since start (see the README). */
  malformedEvents: number;
}

export interface Verifier {
  /** The token's claims, or a rejection with a VerifierError. */
  verify(token: unknown): Promise<AccessTokenClaims>;
  status(): VerifierStatus;
  /** Releases every timer and connection; `verify` then rejects with `unavailable`. */
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 1_000;

class SessionVerifier implements Verifier {
  private readonly keys: KeySet;
  private readonly revocations: Revocations;
  private readonly memo: VerifiedTokens<AccessTokenClaims>;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(private readonly settings: ReturnType<typeof settingsFrom>) {
    this.keys = new KeySet(settings.jwksUrl, settings.onEvent, {
      unknownKidSpacingMs: settings.unknownKidSpacingMs,
      retryMaxMs: settings.keysRetryMaxMs,
    });
    this.revocations = new Revocations(settings);
    this.memo = new VerifiedTokens(settings.verifiedCacheSize);
    this.sweeper = setInterval(() => {
      const now = settings.now();
      this.revocations.sweep(now);
      this.memo.sweep(now);
    }, SWEEP_INTERVAL_MS);
  }

  async start(): Promise<void> {
    await Promise.all([this.keys.start(this.settings.startTimeoutMs), this.revocations.start()]);
  }

  async verify(token: unknown): Promise<AccessTokenClaims> {
    if (this.closed) throw new VerifierError("closed");
    // The cheap refusals first, before anything is parsed: a 1 MiB string costs one length check.
    if (typeof token !== "string") throw new VerifierError("notString");
    if (token.length === 0) throw new VerifierError("empty");
    if (token.length > this.settings.maxTokenLength) throw new VerifierError("tooLong");
    const now = this.settings.now();
    let claims: AccessTokenClaims;
    const known = this.memo.get(token);
    if (known && this.keys.get(known.key.kid) === known.key) {
      if (known.expiresAtMs <= now) {
        this.memo.delete(token);
        throw new VerifierError("expired");
      }
      claims = known.claims;
    } else {
      if (known) this.memo.delete(token); // its key left the JWKS
      if (!this.keys.ready) throw new VerifierError(COMPACT_JWS.test(token) ? "noKeys" : "malformed");
      const verified = await verifyAccessToken(token, this.keys, this.settings, now);
      claims = verified.claims;
      this.memo.add(token, {
        claims,
        key: verified.key,
        expiresAtMs: (claims.exp + this.settings.toleranceSeconds) * 1000,
      });
    }
    // Every time, memo or not: a revocation applies to the very next verification.
    if (this.revocations.denies(claims.sid, now)) throw new VerifierError("revoked");
    if (this.revocations.failedClosed()) throw new VerifierError("failClosed");
    return claims;
  }

  status(): VerifierStatus {
    return {
      keys: this.keys.size,
      revocations: this.revocations.state,
      tracked: this.revocations.tracked,
      lagMs: this.revocations.lagMs,
      malformedEvents: this.revocations.malformed,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.keys.close();
    await this.revocations.close();
  }
}

/**
 * Resolves once the keys are loaded (or after at most 10 s without them) and the revocations of
 * the lookback are applied (or NATS turned out to be unreachable: then `disconnected`, retrying).
 */
export async function createVerifier(options: VerifierOptions): Promise<Verifier> {
  const verifier = new SessionVerifier(settingsFrom(options));
  await verifier.start();
  return verifier;
}
