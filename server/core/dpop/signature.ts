/**
 * The signature check of a DPoP proof with node:crypto, as access tokens are signed (server/core/jws.ts):
 * jose's WebCrypto path cost about 1.5× as much per proof in Bun, on every bound refresh. The key
 * is the proof's own `jwk`, already matched to the session's thumbprint; keys are imported once per
 * thumbprint (a client refreshes with the same key for the session's whole life).
 */
import { constants, createPublicKey, type KeyObject, verify } from "node:crypto";
import type { DpopAlg } from "./algorithms";

/** RSA keys below this are refused (RFC 7518 §3.3, as jose does). */
const MIN_RSA_BITS = 2048;
const MAX_KEYS = 10_000;

/** Imported keys by thumbprint: two generations, so the memo stays bounded without a full scan. */
let current = new Map<string, KeyObject>();
let previous = new Map<string, KeyObject>();

function importKey(thumbprint: string, jwk: Record<string, unknown>): KeyObject | null {
  const known = current.get(thumbprint) ?? previous.get(thumbprint);
  if (known) return known;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as never, format: "jwk" });
  } catch {
    return null;
  }
  if (key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return null;
  if (current.size >= MAX_KEYS) {
    previous = current;
    current = new Map();
  }
  current.set(thumbprint, key);
  return key;
}

export type SignatureVerdict = "valid" | "invalid" | "unusable_key";

/** Checks `signature` over the JWS signing input with the proof's key. */
export function verifyProofSignature(
  alg: DpopAlg,
  jwk: Record<string, unknown>,
  thumbprint: string,
  signingInput: string,
  signature: Buffer,
): SignatureVerdict {
  const key = importKey(thumbprint, jwk);
  if (!key) return "unusable_key";
  const data = Buffer.from(signingInput, "ascii");
  try {
    const ok =
      alg === "EdDSA"
        ? verify(null, data, key, signature)
        : alg === "ES256"
          ? verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature)
          : alg === "RS256"
            ? verify("sha256", data, key, signature)
            : verify(
                "sha256",
                data,
                { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
                signature,
              );
    return ok ? "valid" : "invalid";
  } catch {
    return "invalid";
  }
}
