/**
 * Refresh tokens. A token names its session and its generation under a MAC, and carries 256
 * secret bits:
 *
 *   base64url( version 1B ‖ flags 1B ‖ session id 16B ‖ generation 4B ‖ secret 32B ‖ tag 16B )
 *
 * - tag = HMAC(k_tag, everything before it), truncated to 128 bits. Only this service can make a
 *   token, so a token with a good tag and a generation older than the session's current one is
 *   an older token of that chain: reuse. Nothing per rotation has to be stored for that (the
 *   store keeps the current and the previous token's hash only), and a garbled or forged token is
 *   refused before any store read.
 * - The secret of a session's first token comes from the CSPRNG. A rotated token is derived, not
 *   stored: child secret = HMAC(k_derive, parent ‖ nonce), the nonce kept in the session row, so a
 *   retry inside the grace window gets the very same child back while the database alone can
 *   neither hash, derive nor forge tokens.
 * - flags bit 0: the session is bound to a DPoP key, so its refreshes need a proof (CONTRACT §10).
 * Only HMAC(k_hash, token) is ever stored.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const VERSION = 1;
const BOUND = 0b1;
const HEADER = 2;
const SID = 16;
const GENERATION = 4;
const SECRET = 32;
const TAG = 16;
const SIGNED = HEADER + SID + GENERATION + SECRET;
const BYTES = SIGNED + TAG;
/** base64url length of a token; anything else is refused without decoding. */
export const REFRESH_TOKEN_LENGTH = Math.ceil((BYTES * 4) / 3);

export interface RefreshTokenKeys {
  /** HMAC key for the stored hash of refresh tokens. */
  tokenHashKey: Buffer;
  /** HMAC key deriving a rotated token's secret from its parent and a nonce (grace replay). */
  tokenDeriveKey: Buffer;
  /** HMAC key for the tag that authenticates a token's session id, generation and flags. */
  tokenTagKey: Buffer;
}

export interface TokenIdentity {
  sessionId: string;
  generation: number;
  bound: boolean;
}

const uuidBytes = (id: string) => Buffer.from(id.replaceAll("-", ""), "hex");
const uuidText = (bytes: Buffer) => {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

const tagOf = (keys: RefreshTokenKeys, signed: Buffer) =>
  createHmac("sha256", keys.tokenTagKey).update(signed).digest().subarray(0, TAG);

function build(keys: RefreshTokenKeys, identity: TokenIdentity, secret: Buffer): string {
  const signed = Buffer.alloc(SIGNED);
  signed[0] = VERSION;
  signed[1] = identity.bound ? BOUND : 0;
  uuidBytes(identity.sessionId).copy(signed, HEADER);
  signed.writeUInt32BE(identity.generation, HEADER + SID);
  secret.copy(signed, HEADER + SID + GENERATION);
  return Buffer.concat([signed, tagOf(keys, signed)]).toString("base64url");
}

/** The first token of a session (generation 0), with 256 bits from the CSPRNG. */
export function mintRefreshToken(keys: RefreshTokenKeys, sessionId: string, bound: boolean): string {
  return build(keys, { sessionId, generation: 0, bound }, randomBytes(SECRET));
}

export const newRotationNonce = (): string => randomBytes(16).toString("base64url");

/** The token that follows `parent` (one generation later) for this nonce; the same inputs give the same token. */
export function deriveChildToken(
  keys: RefreshTokenKeys,
  parent: string,
  identity: TokenIdentity,
  nonce: string,
): string {
  const secret = createHmac("sha256", keys.tokenDeriveKey)
    .update(parent, "utf8")
    .update("\u0000")
    .update(nonce)
    .digest();
  return build(keys, { ...identity, generation: identity.generation + 1 }, secret);
}

/** Who a token says it belongs to, when its tag checks out; null for anything else. Costs one HMAC. */
export function readRefreshToken(keys: RefreshTokenKeys, token: string): TokenIdentity | null {
  if (token.length !== REFRESH_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const raw = Buffer.from(token, "base64url");
  if (raw.length !== BYTES || raw[0] !== VERSION || (raw[1] & ~BOUND) !== 0) return null;
  // One spelling per token: the last character's unused bits must be zero, or two strings (two hashes) would be one token.
  if (raw.toString("base64url") !== token) return null;
  const signed = raw.subarray(0, SIGNED);
  if (!timingSafeEqual(tagOf(keys, signed), raw.subarray(SIGNED))) return null;
  return {
    sessionId: uuidText(raw.subarray(HEADER, HEADER + SID)),
    generation: raw.readUInt32BE(HEADER + SID),
    bound: (raw[1] & BOUND) !== 0,
  };
}
