/**
 * DPoP proofs made ahead for the bound-refresh workload (issue 17): wrk cannot sign, so each seeded
 * bound session gets one proof for its one refresh, made just before the run — `htm` POST, `htu`
 * the bench servers' PUBLIC_URL + /session/refresh, `iat` now, a fresh `jti` — and the servers
 * accept proofs up to BENCH_DPOP_MAX_AGE old, more than a run lasts. Signed with node:crypto (the
 * service's own compact-JWS signer) under keys of the benchmark's JWT algorithm; the server checks
 * them with jose like any client's. KEYS keys take turns, as many clients would.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { signCompactJws } from "../server/core/jws";
import type { SigningAlg } from "../server/core/signing-keys";

/** What every bench server is started with (server-run.ts): only DPoP proofs' `htu` depends on it. */
export const BENCH_PUBLIC_URL = "https://sessions.bench.test";
export const BENCH_DPOP_MAX_AGE = "10m";
const HTU = `${BENCH_PUBLIC_URL}/session/refresh`;
const KEYS = 16;

export interface DpopClientKey {
  alg: SigningAlg;
  privateKey: KeyObject;
  publicJwk: JWK;
  /** RFC 7638 thumbprint: the session's dpop_jkt. */
  jkt: string;
}

function keyPair(alg: SigningAlg) {
  if (alg === "EdDSA") return generateKeyPairSync("ed25519");
  if (alg === "ES256") return generateKeyPairSync("ec", { namedCurve: "P-256" });
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

export async function dpopClientKeys(alg: SigningAlg, count = KEYS): Promise<DpopClientKey[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const { privateKey, publicKey } = keyPair(alg);
      const publicJwk = publicKey.export({ format: "jwk" }) as JWK;
      return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
    }),
  );
}

/** One proof for one refresh, issued at `now` (epoch ms). */
export const refreshProof = (key: DpopClientKey, now: number): string =>
  signCompactJws(
    { alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk },
    { jti: randomUUID(), htm: "POST", htu: HTU, iat: Math.floor(now / 1000) },
    key.privateKey,
  );
