/**
 * DPoP proofs for tests, made by jose as a real client would make them (RFC 9449 §4.2), plus raw
 * builders for the malformed ones no library would sign (alg none, HS256, odd headers).
 */
import { createHmac, randomUUID } from "node:crypto";
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import type { DpopAlg } from "../../server/core/dpop/algorithms";

export interface DpopTestKey {
  alg: DpopAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** The private JWK (`d` and, for RSA, `p q dp dq qi`): what a careless client might put in its header. */
  privateJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of the public JWK: the session's `dpop_jkt`. */
  jkt: string;
}

export async function dpopKey(alg: DpopAlg): Promise<DpopTestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    alg,
    privateKey,
    publicJwk,
    privateJwk: await exportJWK(privateKey),
    jkt: await calculateJwkThumbprint(publicJwk),
  };
}

/** Claims of a good proof for `htu` at `now` (epoch ms): fresh jti, htm POST, iat in whole seconds. */
export const dpopClaims = (htu: string, now: number, extra: Record<string, unknown> = {}) => ({
  jti: randomUUID(),
  htm: "POST",
  htu,
  iat: Math.floor(now / 1000),
  ...extra,
});

/** Header members set to undefined are left out, so a test can drop `typ` or `jwk`. */
const withoutUndefined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));

export interface ProofOptions {
  /** Replaces or (with undefined) removes members of the protected header. */
  header?: Record<string, unknown>;
  /** Signs with another private key than the one whose JWK is in the header. */
  signWith?: CryptoKey;
  /** The payload bytes as they are, instead of the JSON of the claims. */
  rawPayload?: Uint8Array;
}

/** A compact JWS signed by jose: header `{alg, typ: "dpop+jwt", jwk}` unless overridden. */
export async function dpopProof(
  key: DpopTestKey,
  claims: Record<string, unknown>,
  options: ProofOptions = {},
): Promise<string> {
  const header = withoutUndefined({ alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk, ...options.header });
  const payload = options.rawPayload ?? new TextEncoder().encode(JSON.stringify(claims));
  return new CompactSign(payload)
    .setProtectedHeader(header as { alg: string })
    .sign(options.signWith ?? key.privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** header.payload.signature from the parts as given, signed by nobody. */
export const rawJws = (header: unknown, claims: unknown, signature: string) =>
  `${b64url(header)}.${b64url(claims)}.${signature}`;

/** HS256 over the proof with `secret` (the alg-confusion attack: the public key used as an HMAC secret). */
export function hs256Jws(header: unknown, claims: unknown, secret: Uint8Array | string): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}
