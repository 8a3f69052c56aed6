/** Access tokens: compact JWS with `typ: at+jwt`, verified with pinned algorithm, iss, aud and typ. */

import { randomUUID } from "node:crypto";
import { jwtVerify } from "jose";
import { ServiceError } from "./errors";
import { signCompactJws } from "./jws";
import type { SessionRow } from "./ports";
import type { KeyRing } from "./signing-keys";
import { VerifiedTokens } from "./verified-tokens";

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlMs: number;
}

export interface AccessClaims {
  sub: string;
  sid: string;
  exp: number;
}

const EXP_LEEWAY_S = 5;

export class AccessTokens {
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly keys: KeyRing,
    private readonly settings: AccessTokenSettings,
  ) {}

  /** `exp` in milliseconds for a token issued at `now`, whole seconds as in the JWT. */
  expiresAt(now: number): number {
    return (Math.floor(now / 1000) + Math.floor(this.settings.ttlMs / 1000)) * 1000;
  }

  /** Resolves once a signing key is loaded; `unavailable` when none can sign (checked before a refresh commits). */
  async ready(): Promise<void> {
    await this.keys.signingKey();
  }

  async issue(session: SessionRow, now: number): Promise<{ token: string; expiresAt: number }> {
    const { kid, alg, keyObject } = await this.keys.signingKey();
    const expiresAt = this.expiresAt(now);
    const extra = session.claims ? (JSON.parse(session.claims) as Record<string, unknown>) : {};
    // The session's claims first: registered names are refused at create, and would lose here anyway.
    const payload = {
      ...extra,
      sid: session.sessionId,
      iss: this.settings.issuer,
      aud: this.settings.audience,
      sub: session.userId,
      iat: Math.floor(now / 1000),
      exp: expiresAt / 1000,
      jti: randomUUID(),
    };
    return { token: signCompactJws({ alg, kid, typ: "at+jwt" }, payload, keyObject), expiresAt };
  }

  /** The verified claims, or invalid_token. Does not look at the session; the caller does. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      const fresh = now < (known.exp + EXP_LEEWAY_S) * 1000 && this.keys.verificationKey(known.kid) !== null;
      if (fresh) return { sub: known.sub, sid: known.sid, exp: known.exp };
      this.verified.delete(token);
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(
        token,
        async (header) => {
          // A key rotated in elsewhere (CLI, another instance) may sign before our next reload.
          if (!this.keys.verificationKey(header.kid)) await this.keys.reloadIfUnknown(header.kid);
          const found = this.keys.verificationKey(header.kid);
          if (!found || found.alg !== header.alg) throw new Error("unknown key");
          return found.key;
        },
        {
          issuer: this.settings.issuer,
          audience: this.settings.audience,
          typ: "at+jwt",
          requiredClaims: ["sub", "sid", "iat", "exp", "jti"],
          clockTolerance: EXP_LEEWAY_S,
          currentDate: new Date(now),
        },
      );
      if (typeof payload.sub !== "string" || typeof payload.sid !== "string") throw new Error("bad claims");
      const claims = { sub: payload.sub, sid: payload.sid, exp: payload.exp! };
      this.verified.add(token, { ...claims, kid: protectedHeader.kid! });
      return claims;
    } catch {
      throw new ServiceError("invalid_token");
    }
  }
}
