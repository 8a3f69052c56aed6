/**
 * Sub-keys derived from SECRET_KEY with HKDF-SHA256, one per purpose, so the database alone lets
 * no one hash or derive refresh tokens, verify service keys or decrypt signing keys.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { RefreshTokenKeys } from "./refresh-tokens";

export interface DerivedSecrets extends RefreshTokenKeys {
  /** HMAC key authenticating what the database holds: session rows and signing-key rows (integrity.ts). */
  integrityKey: Buffer;
  /** HMAC key for the stored hash of service keys. */
  serviceKeyHashKey: Buffer;
  /** AES-256-GCM key for private signing keys at rest. */
  keyEncryptionKey: Buffer;
  /** HMAC key of the stateless DPoP nonces (dpop/nonces.ts): every instance with this SECRET_KEY accepts the others'. */
  dpopNonceKey: Buffer;
}

const derive = (secret: Uint8Array, purpose: string) =>
  Buffer.from(hkdfSync("sha256", secret, "session-service", purpose, 32));

export function deriveSecrets(secret: Uint8Array): DerivedSecrets {
  return {
    tokenHashKey: derive(secret, "refresh-token-hash/v1"),
    tokenDeriveKey: derive(secret, "refresh-token-derive/v1"),
    tokenTagKey: derive(secret, "refresh-token-tag/v1"),
    integrityKey: derive(secret, "row-integrity/v1"),
    serviceKeyHashKey: derive(secret, "service-key-hash/v1"),
    keyEncryptionKey: derive(secret, "signing-key-encryption/v1"),
    dpopNonceKey: derive(secret, "dpop-nonce/v1"),
  };
}

/** AES-256-GCM: base64url(iv ‖ tag ‖ ciphertext). The associated data binds the blob to its key id. */
export function encrypt(key: Buffer, plaintext: string, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
}

export function decrypt(key: Buffer, blob: string, associatedData: string): string {
  const raw = Buffer.from(blob, "base64url");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(associatedData));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

/** HMAC-SHA256 of a secret (refresh token, service key) under a purpose key, base64url: what is stored. */
export function keyedHash(key: Buffer, secret: string): string {
  return createHmac("sha256", key).update(secret, "utf8").digest("base64url");
}

/** Constant-time equality for two base64url digests (or any strings). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
