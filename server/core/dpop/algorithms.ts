/**
 * The signature algorithms a DPoP proof may use (CONTRACT §10): asymmetric only, each pinned to the
 * one key type it signs with, so a proof can never be checked with a symmetric key or the wrong
 * curve. `none`, every HS* and anything else are refused before any key is imported.
 */
export const DPOP_ALGS = ["EdDSA", "ES256", "RS256", "PS256"] as const;
export type DpopAlg = (typeof DPOP_ALGS)[number];

/** The JWK `kty` (and `crv` where there is one) each algorithm takes. */
export const KEY_TYPE_OF: Record<DpopAlg, { kty: string; crv?: string }> = {
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  ES256: { kty: "EC", crv: "P-256" },
  RS256: { kty: "RSA" },
  PS256: { kty: "RSA" },
};

export const isDpopAlg = (alg: unknown): alg is DpopAlg =>
  typeof alg === "string" && (DPOP_ALGS as readonly string[]).includes(alg);
