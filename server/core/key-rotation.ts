/**
 * Automatic signing-key rotation (KEY_ROTATION_INTERVAL). The next key is published at least
 * `leadMs` (the JWKS cache time plus the instances' reload interval) before it starts signing, so
 * every verifier caching the JWKS already knows it when the first token signed with it arrives.
 */
import type { SigningKeyRow } from "./ports";
import { keyState, type SigningAlg } from "./signing-keys";

/** When the next key should start signing, or null when nothing is to be done now. */
export function nextRotation(
  rows: SigningKeyRow[],
  alg: SigningAlg,
  accessTtlMs: number,
  intervalMs: number,
  leadMs: number,
  now: number,
): { activatesAt: number } | null {
  const live = rows.filter((row) => row.retiredAt === null && row.alg === alg);
  if (live.some((row) => row.activatesAt > now)) return null; // one is already on its way
  const signer = keyState(rows, alg, accessTtlMs, now).signer;
  if (!signer) return null; // start-up makes the first key
  const due = signer.activatesAt + intervalMs;
  if (now < due - leadMs) return null;
  return { activatesAt: Math.max(due, now + leadMs) };
}
