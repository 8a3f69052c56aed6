/** DPoP-bound sessions (RFC 9449, CONTRACT §10): what the refresh flow and the edges use. See README.md here. */
export { DPOP_ALGS, type DpopAlg } from "./algorithms";
export { DPOP_ALGS_PARAMETER, dpopChallenge, dpopErrorHeaders, dpopNonceHeaders } from "./challenge";
export { normaliseHtu, parsePublicUrl, REFRESH_PATH, refreshHtu } from "./htu";
export { DpopNonces } from "./nonces";
export {
  type DpopErrorCode,
  type DpopFailureReason,
  type DpopPolicy,
  type DpopRequest,
  type DpopVerdict,
  MAX_JTI_LENGTH,
  MAX_PROOF_LENGTH,
  verifyDpopProof,
} from "./proof";
export { type DpopSettings, RefreshProofs } from "./refresh-proofs";
export { jtiRememberUntil } from "./replay";
export { jwkThumbprint } from "./thumbprint";
