/**
 * Content rules for request fields (CONTRACT §3). Shapes (types, presence) are checked at the edge;
 * these check what the values mean. Each returns the value to store or throws invalid_request with
 * a message that never repeats the submitted value.
 */
import { isIPv6 } from "node:net";
import { ServiceError } from "./errors";

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;
const REGISTERED_CLAIMS = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "typ"]);
const MAX_CLAIMS_BYTES = 2048;
const MAX_USER_AGENT = 512;

const invalid = (message: string) => new ServiceError("invalid_request", message);

/**
 * RFC 7638 SHA-256 thumbprint, base64url: 43 characters (CONTRACT §10), canonical. The 43rd
 * character carries the last 4 bits of 256 and two zero bits, so only 16 letters may end it; a
 * non-canonical spelling decodes to the same bytes but never equals a computed thumbprint, which
 * would leave a session that no proof can ever refresh.
 */
const JKT = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const MAX_SESSION_NAME = 64;

export function checkUserId(userId: string): string {
  const length = [...userId].length;
  if (length < 1 || length > 128) throw invalid("user_id must be 1 to 128 characters.");
  if (CONTROL.test(userId)) throw invalid("user_id must not contain control characters.");
  if (!userId.isWellFormed()) throw invalid("user_id must be valid Unicode.");
  return userId;
}

/** Control characters removed, lone surrogates replaced, then cut to 512 code points. */
export function cleanUserAgent(userAgent: string): string {
  const cleaned = userAgent.replace(CONTROL_ALL, "").toWellFormed();
  const points = [...cleaned];
  return points.length > MAX_USER_AGENT ? points.slice(0, MAX_USER_AGENT).join("") : cleaned;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * IPv4 as a strict dotted quad (leading zeros are refused: they read as octal elsewhere), IPv6 in
 * RFC 5952 form, IPv4-mapped as ::ffff:a.b.c.d. Zone ids, brackets and ports are refused.
 */
export function canonicalIp(ip: string): string {
  if (IPV4.test(ip)) return ip;
  if (ip.includes("%") || !isIPv6(ip)) throw invalid("ip must be an IPv4 or IPv6 address.");
  // The WHATWG URL serializer writes IPv6 hosts in RFC 5952 form (lowercase, longest zero run compressed).
  const host = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = MAPPED.exec(host);
  if (!mapped) return host;
  const high = parseInt(mapped[1], 16);
  const low = parseInt(mapped[2], 16);
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** A JSON object of at most 2 KiB without registered claim names. Returned as the JSON text to store. */
export function checkClaims(claims: unknown): string | null {
  if (claims === undefined) return null;
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
    throw invalid("claims must be a JSON object.");
  }
  for (const name of Object.keys(claims)) {
    if (REGISTERED_CLAIMS.has(name)) throw invalid("claims must not use a registered claim name.");
  }
  const json = JSON.stringify(claims);
  if (!json.isWellFormed()) throw invalid("claims must be valid Unicode.");
  if (Buffer.byteLength(json, "utf8") > MAX_CLAIMS_BYTES) throw invalid("claims must be at most 2 KiB as JSON.");
  return json;
}

/** The DPoP key thumbprint a session is bound to (`dpop_jkt` of POST /session). */
export function checkDpopJkt(jkt: string): string {
  if (!JKT.test(jkt)) throw invalid("dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters).");
  return jkt;
}

/** What a user calls a session (PATCH /session/{id}): 1–64 characters, no control character. */
export function checkSessionName(name: string): string {
  const length = [...name].length;
  if (length < 1 || length > MAX_SESSION_NAME) throw invalid("name must be 1 to 64 characters, or null.");
  if (CONTROL.test(name)) throw invalid("name must not contain control characters.");
  if (!name.isWellFormed()) throw invalid("name must be valid Unicode.");
  return name;
}
