/**
 * The key a session is bound to: the RFC 7638 SHA-256 thumbprint of the client's public JWK,
 * base64url (43 characters), as the auth-service passes it in `dpop_jkt` (CONTRACT §10; checked at
 * POST /session by checkDpopJkt in server/core/input.ts).
 */
import { calculateJwkThumbprint, type JWK } from "jose";

/** RFC 7638 SHA-256 thumbprint of a public JWK (jose), or null when the JWK lacks a required member. */
export async function jwkThumbprint(jwk: JWK): Promise<string | null> {
  try {
    return await calculateJwkThumbprint(jwk, "sha256");
  } catch {
    return null;
  }
}
