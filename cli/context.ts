/**
 * What every command needs from the outside: where to write, whether a person is watching, the
 * settings, and the core's operator use cases, always closed afterwards (an open store would keep
 * the process alive). Commands that only read open the store read-only and load no key material
 * they could write; commands that write open the operator core, which needs the servers'
 * SECRET_KEY and refuses one that does not match the store (CONTRACT §6, §8).
 */
import { openStore } from "../db/open-store";
import type { Config, ConfigResult } from "../server/config";
import { AdminService } from "../server/core/admin";
import { systemClock } from "../server/core/ports";
import { deriveSecrets } from "../server/core/secrets";
import { loadSecretKey } from "../server/data-files";
import { type Core, openCore } from "../server/open-core";
import { CliError } from "./exit-codes";

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: draw tables and progress for people. */
  isTTY: boolean;
}

export interface CliContext {
  io: CliIO;
  /** The parsed settings; bad settings fail here, so `--help` works without any. */
  config(): Config;
  /** Read-only: the store opened read-only; nothing is created, migrated or written. */
  withReader<T>(use: (admin: AdminService) => Promise<T>): Promise<T>;
  /** Writing: the operator core (SECRET_KEY required and checked against the store's keys). */
  withCore<T>(use: (core: Core) => Promise<T>): Promise<T>;
}

/** The failure of opening, as the one line the operator reads. */
const opening = (error: unknown) => new CliError(error instanceof Error ? error.message : String(error));

export function createContext(settings: ConfigResult, io: CliIO): CliContext {
  const config = (): Config => {
    if (!settings.ok) throw new CliError(`bad settings: ${settings.errors.join("; ")}`);
    return settings.config;
  };
  return {
    io,
    config,
    withReader: async (use) => {
      const cfg = config();
      const store = await openStore(cfg, { readOnly: true }).catch((error) => Promise.reject(opening(error)));
      // With the secret at hand a listing can tell keys that fail their MAC; without it, it still lists.
      let secrets: ReturnType<typeof deriveSecrets> | undefined;
      try {
        secrets = deriveSecrets(loadSecretKey(cfg.secretKey, cfg.dataDir, { create: false, store: cfg.databaseUrl }));
      } catch {
        secrets = undefined;
      }
      try {
        const keys = { ...cfg, keyReloadMs: cfg.timers.keyReloadMs };
        return await use(new AdminService({ store, clock: systemClock, keys, secrets }));
      } finally {
        await store.close();
      }
    },
    withCore: async (use) => {
      const core = await openCore(config(), { role: "operator" }).catch((error) => Promise.reject(opening(error)));
      try {
        return await use(core);
      } finally {
        await core.close();
      }
    },
  };
}
