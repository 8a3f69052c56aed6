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
  const tick = async () => {
    const now = core.clock.now();
    const plan = nextRotation(
      await core.store.listSigningKeys(),
      config.jwtAlg,
      config.accessTokenTtlMs,
      config.keyRotationIntervalMs,
      leadMs,
      now,
    );
    if (!plan || !(await core.store.acquireLease(LEASE, owner, leadMs, now))) return;
    // Re-check under the lease: another instance may have rotated a moment ago.
    if (
      !nextRotation(
        await core.store.listSigningKeys(),
        config.jwtAlg,
        config.accessTokenTtlMs,
        config.keyRotationIntervalMs,
        leadMs,
        now,
      )
    )
      return;
    const row = await generateSigningKey(config.jwtAlg, core.secrets.keyEncryptionKey, now, plan.activatesAt);
    await core.store.insertSigningKey(row);
    await core.keys.reload();
    logger.info(
      { kid: row.kid, activates_at: new Date(plan.activatesAt).toISOString() },
      "signing key rotated: next key published",
    );
  };
  const timer = setInterval(
    () => tick().catch((err) => logger.warn({ err: { message: (err as Error).message } }, "key rotation failed")),
    Math.min(KEY_RELOAD_MS, config.keyRotationIntervalMs / 4),
  );
  return () => clearInterval(timer);
}
