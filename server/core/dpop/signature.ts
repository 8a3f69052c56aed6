/**
 * The signature check of a DPoP proof with node:crypto, as access tokens are signed (server/core/jws.ts):
 * jose's WebCrypto path cost about 1.5× as much per proof in Bun, on every bound refresh. The key
 * is the proof's own `jwk`, already matched to the session's thumbprint; keys are imported once per
 * thumbprint (a client refreshes with the same key for the session's whole life).
 *
 * The check runs in the thread pool (node:crypto's `verify` with a callback), not on the event
 * loop: an Ed25519 verification is about 55–85 µs of CPU here, a third of a whole unbound refresh,
 * and on the event loop it delayed every other request by that much. Off it, the event loop pays
 * about 12 µs per proof for handing it over and back.
 */
import { constants, createPublicKey, type KeyObject, type VerifyKeyObjectInput, verify } from "node:crypto";
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

/** The digest and key options node:crypto's `verify` takes for each proof algorithm. */
function verifyArguments(alg: DpopAlg, key: KeyObject): [digest: string | null, key: VerifyKeyObjectInput] {
  switch (alg) {
    case "EdDSA":
      return [null, { key }];
    case "ES256":
      return ["sha256", { key, dsaEncoding: "ieee-p1363" }];
    case "RS256":
      return ["sha256", { key }];
    default:
      return [
        "sha256",
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      ];
  }
}

/** Checks `signature` over the JWS signing input with the proof's key, in the thread pool. */
export function verifyProofSignature(
  alg: DpopAlg,
  jwk: Record<string, unknown>,
  thumbprint: string,
  signingInput: string,
  signature: Buffer,
): Promise<SignatureVerdict> {
  const key = importKey(thumbprint, jwk);
  if (!key) return Promise.resolve("unusable_key");
  const [digest, keyInput] = verifyArguments(alg, key);
  return new Promise((resolve) => {
    try {
      verify(digest, Buffer.from(signingInput, "ascii"), keyInput, signature, (error, ok) =>
        resolve(error === null && ok ? "valid" : "invalid"),
      );
    } catch {
      resolve("invalid");
    }
  });
}
