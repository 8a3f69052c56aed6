/**
 * The key a session is bound to: the RFC 7638 SHA-256 thumbprint of the client's public JWK,
 * base64url (43 characters), as the auth-service passes it in `dpop_jkt` (CONTRACT §10).
 */
import { timingSafeEqual } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { ServiceError } from "../errors";

/**
 * 32 bytes in canonical unpadded base64url: the 43rd character carries 2 bits and 4 zero bits, so
 * only 16 letters may end it. A non-canonical spelling decodes to the same bytes but would never
 * equal a computed thumbprint, leaving a session that no proof could ever refresh.
 */
const JKT = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export const isDpopJkt = (value: string): boolean => JKT.test(value);

/** `dpop_jkt` of POST /session: the value to store, or `400 invalid_request` (the value is never repeated). */
export function checkDpopJkt(jkt: string): string {
  if (!isDpopJkt(jkt)) {
    throw new ServiceError("invalid_request", "dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters).");
  }
  return jkt;
}

/** RFC 7638 SHA-256 thumbprint of a public JWK (jose), or null when the JWK lacks a required member. */
export async function jwkThumbprint(jwk: JWK): Promise<string | null> {
  try {
    return await calculateJwkThumbprint(jwk, "sha256");
  } catch {
    return null;
  }
}

/** Constant-time equality of two thumbprints. */
export function sameThumbprint(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
