/**
 * Signs access tokens for seeded sessions with the running server's own signing key (read from
 * its store and decrypted with the test SECRET_KEY), through the service's AccessTokens, so
 * `/session/me` accepts them exactly as tokens it issued itself.
 */

import { decodeSecretKey } from "../server/config";
import { AccessTokens } from "../server/core/access-tokens";
import { type SessionRow, systemClock } from "../server/core/ports";
import { deriveSecrets } from "../server/core/secrets";
import { KeyRing } from "../server/core/signing-keys";
import { SECRET_KEY } from "../test/support/core";
import { settings } from "./settings";
import type { StoreTarget } from "./stores";

const ACCESS_TTL_MS = 15 * 60_000;

export async function signAccessTokens(target: StoreTarget, rows: SessionRow[]): Promise<string[]> {
  const store = await target.open();
  try {
    const secrets = deriveSecrets(decodeSecretKey(SECRET_KEY)!);
    const keys = new KeyRing(store.signingKeys, secrets, settings.jwtAlg, ACCESS_TTL_MS, systemClock);
    await keys.open();
    const tokens = new AccessTokens(keys, { issuer: "session-service", audience: "api", ttlMs: ACCESS_TTL_MS });
    const now = Date.now();
    const signed: string[] = [];
    for (const row of rows) signed.push((await tokens.issue(row, now)).token);
    return signed;
  } finally {
    await store.close();
  }
}
