/**
 * The key a session is bound to: the RFC 7638 SHA-256 thumbprint of the client's public JWK,
 * base64url (43 characters), as the auth-service passes it in `dpop_jkt` (CONTRACT §10; checked at
 * POST /session by checkDpopJkt in server/core/input.ts). Computed with node:crypto: jose's
 * asynchronous WebCrypto digest cost more than the rest of a bound refresh's bookkeeping.
 */
import { createHash } from "node:crypto";

/** The members RFC 7638 §3.2 hashes for each key type, in their lexicographic order. */
const REQUIRED: Record<string, readonly string[]> = {
  OKP: ["crv", "kty", "x"],
  EC: ["crv", "kty", "x", "y"],
  RSA: ["e", "kty", "n"],
};

/** RFC 7638 SHA-256 thumbprint of a public JWK, or null when a required member is missing or not a string. */
export function jwkThumbprint(jwk: Record<string, unknown>): string | null {
  const members = typeof jwk.kty === "string" ? REQUIRED[jwk.kty] : undefined;
  if (!members) return null;
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== "string" || value === "") return null;
    canonical[name] = value;
  }
  return createHash("sha256").update(JSON.stringify(canonical)).digest("base64url");
}
