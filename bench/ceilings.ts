/**
 * What this machine allows for each piece of a request, measured in this process on one thread
 * (the server runs its JavaScript on one thread too): refresh-token hashing, JWT signing and
 * verification with the configured algorithm, and the store's compare-and-swap rotation.
 * The HTTP floor is measured over the network instead (see floor.ts).
 */
import { jwtVerify } from "jose";
import { decodeSecretKey } from "../server/config";
import { AccessTokens } from "../server/core/access-tokens";
import { systemClock } from "../server/core/ports";
import { mintRefreshToken } from "../server/core/refresh-tokens";
import { deriveSecrets, keyedHash } from "../server/core/secrets";
import { KeyRing } from "../server/core/signing-keys";
import { SECRET_KEY } from "../test/support/core";
import { newSession, seedSessions } from "./seed";
import { settings } from "./settings";
import type { StoreTarget } from "./stores";

const secrets = deriveSecrets(decodeSecretKey(SECRET_KEY)!);
const WARMUP_MS = 200;

/** Operations per second of `op` run back to back for `seconds`, after a short warm-up. */
async function rate(seconds: number, op: () => unknown | Promise<unknown>): Promise<number> {
  const until = async (ms: number) => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      // Check the clock every 64 operations: reading it costs about as much as a hash.
      for (let i = 0; i < 64; i++) {
        const result = op();
        if (result instanceof Promise) await result; // sync work (hashing) is not charged a microtask
      }
      n += 64;
    }
    return n / ((performance.now() - start) / 1000);
  };
  await until(WARMUP_MS);
  return until(seconds * 1000);
}

/** keyedHash (HMAC-SHA256 keyed with the token hash key) over distinct refresh tokens. */
export async function hashRate(seconds: number): Promise<number> {
  const tokens = Array.from({ length: 4096 }, () => mintRefreshToken(secrets, Bun.randomUUIDv7(), false));
  let i = 0;
  return rate(seconds, () => keyedHash(secrets.tokenHashKey, tokens[i++ & 4095]));
}

/** AccessTokens.issue and .verify with the configured algorithm, on a key ring in `target`'s store. */
export async function jwtRates(target: StoreTarget, seconds: number): Promise<{ sign: number; verify: number }> {
  const store = await target.open();
  try {
    const keys = new KeyRing(store.signingKeys, secrets, settings.jwtAlg, 900_000, systemClock);
    await keys.open({ leases: store.leases });
    const tokens = new AccessTokens(keys, { issuer: "session-service", audience: "api", ttlMs: 900_000 });
    const row = newSession("ceiling-user", Date.now()).row;
    const sign = await rate(seconds, () => tokens.issue(row, Date.now()));
    // The public-key check itself (jose, pinned as the service pins it): the service memoizes a
    // verified token, so verifying one token in a loop would measure the memo, not the crypto.
    const token = (await tokens.issue(row, Date.now())).token;
    const verifier = (header: { kid?: string }) => keys.verificationKey(header.kid)!.key;
    const options = { issuer: "session-service", audience: "api", typ: "at+jwt" };
    const verify = await rate(seconds, () => jwtVerify(token, verifier, options));
    return { sign, verify };
  } finally {
    await store.close();
  }
}

/**
 * store.rotate (the compare-and-swap of a refresh, in its own transaction) over seeded sessions,
 * each rotation presenting the session's current hash. `concurrency` rotations are in flight at
 * once, as many as the workloads' connections: SQLite then commits them in groups (one fsync for
 * all that arrive together), PostgreSQL spreads them over its pool.
 */
export async function casRate(target: StoreTarget, seconds: number, concurrency: number): Promise<number> {
  const SESSIONS = 20_000;
  const writer = target.writer();
  const seeded = await seedSessions(writer, SESSIONS, (i) => `cas-${i}`, true);
  await writer.close();
  const current = seeded.map((s) => s.row);
  const store = await target.open();
  const rotate = async (i: number) => {
    const newHash = crypto.randomUUID();
    const now = Date.now();
    const rotated = await store.sessions.rotate({
      sessionId: current[i].sessionId,
      presentedHash: current[i].refreshTokenHash,
      newHash,
      nonce: "n",
      now,
      idleDeadline: now + 14 * 86_400_000,
      accessExpiresAt: now + 900_000,
    });
    if (rotated === null || rotated === "proof_replayed") throw new Error("compare-and-swap ceiling: rotation failed");
    current[i] = rotated;
  };
  try {
    // Each worker owns the sessions i ≡ w (mod concurrency), so no two rotations race.
    const perWorker = Math.floor(SESSIONS / concurrency);
    const rates = await Promise.all(
      Array.from({ length: concurrency }, (_, w) => {
        let k = 0;
        return rate(seconds, () => rotate(w + concurrency * (k++ % perWorker)));
      }),
    );
    return rates.reduce((a, b) => a + b, 0);
  } finally {
    await store.close();
  }
}
