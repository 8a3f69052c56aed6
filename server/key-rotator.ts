/** Runs automatic key rotation in one instance at a time (a store lease), on a timer. */
import { randomUUID } from "node:crypto";
import type { Config } from "./core/config";
import { nextRotation } from "./core/key-rotation";
import { generateSigningKey, KEY_RELOAD_MS } from "./core/signing-keys";
import type { Logger } from "./logger";
import type { Core } from "./open-core";

const LEASE = "key-rotation";

export function startKeyRotation(core: Core, config: Config, logger: Logger): () => void {
  const owner = randomUUID();
  const leadMs = config.jwksMaxAgeMs + KEY_RELOAD_MS;
  const plan = async (now: number) =>
    nextRotation(
      await core.store.listSigningKeys(),
      config.jwtAlg,
      config.accessTokenTtlMs,
      config.keyRotationIntervalMs,
      leadMs,
      now,
    );
  const tick = async () => {
    const now = core.clock.now();
    if (!(await plan(now)) || !(await core.store.acquireLease(LEASE, owner, leadMs, now))) return;
    // Decide again under the lease: another instance may have rotated a moment ago.
    const next = await plan(now);
    if (!next) return;
    const row = await generateSigningKey(config.jwtAlg, core.secrets.keyEncryptionKey, now, next.activatesAt);
    await core.store.insertSigningKey(row);
    await core.keys.reload();
    logger.info(
      { kid: row.kid, activates_at: new Date(next.activatesAt).toISOString() },
      "signing key rotated: next key published",
    );
  };
  const timer = setInterval(
    () => tick().catch((err) => logger.warn({ err: { message: (err as Error).message } }, "key rotation failed")),
    Math.min(KEY_RELOAD_MS, config.keyRotationIntervalMs / 4),
  );
  return () => clearInterval(timer);
}
