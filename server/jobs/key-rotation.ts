/** Runs automatic key rotation in one instance at a time (a store lease), on a timer. */
import { randomUUID } from "node:crypto";
import type { Config } from "../config";
import { nextRotation } from "../core/key-rotation";
import { generateSigningKey } from "../core/signing-keys";
import type { Logger } from "../logger";
import type { Core } from "../open-core";

const LEASE = "key-rotation";

export function startKeyRotation(core: Core, config: Config, logger: Logger): () => void {
  const owner = randomUUID();
  const leadMs = config.jwksMaxAgeMs + core.keys.reloadMs;
  // Reads the store each time: under the lease it decides again, another instance may have rotated a moment ago.
  const plan = async (now: number) => {
    await core.keys.reload();
    return nextRotation(
      core.keys.list(),
      config.jwtAlg,
      config.accessTokenTtlMs,
      config.keyRotationIntervalMs,
      leadMs,
      now,
    );
  };
  const tick = async () => {
    const now = core.clock.now();
    if (!(await plan(now)) || !(await core.store.leases.acquireLease(LEASE, owner, leadMs, now))) return;
    // Decide again under the lease: another instance may have rotated a moment ago.
    const next = await plan(now);
    if (!next) return;
    const row = await generateSigningKey(config.jwtAlg, core.secrets, now, next.activatesAt);
    await core.store.signingKeys.insertSigningKey(row);
    await core.keys.reload();
    logger.info(
      { kid: row.kid, activates_at: new Date(next.activatesAt).toISOString() },
      "signing key rotated: next key published",
    );
  };
  const timer = setInterval(
    () => tick().catch((err) => logger.warn({ err: { message: (err as Error).message } }, "key rotation failed")),
    Math.min(core.keys.reloadMs, config.keyRotationIntervalMs / 4),
  );
  return () => clearInterval(timer);
}
