/**
 * Refresh tokens: 256 random bits, base64url. Only an HMAC of a token is stored. A rotated token is
 * derived, not stored: child = HMAC(deriveKey, parent ‖ nonce), the nonce kept in the session row,
 * so a retry inside the grace window gets the very same child back while the database alone can
 * neither hash nor derive tokens.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const mintRefreshToken = (): string => randomBytes(32).toString("base64url");

export const newRotationNonce = (): string => randomBytes(16).toString("base64url");

export function hashSecret(key: Buffer, secret: string): string {
  return createHmac("sha256", key).update(secret, "utf8").digest("base64url");
}

export function deriveChildToken(deriveKey: Buffer, parent: string, nonce: string): string {
  return createHmac("sha256", deriveKey)
    .update(parent, "utf8")
    .update("\u0000")
    .update(nonce, "utf8")
    .digest("base64url");
}

/** Constant-time equality for two base64url digests (or any strings). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
