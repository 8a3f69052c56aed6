/**
 * What every command needs from the outside: where to write, whether a person is watching, the
 * settings, and a core that is always closed afterwards (an open store would keep the process alive).
 */
import type { Config, ConfigResult } from "../server/config";
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
  withCore<T>(use: (core: Core) => Promise<T>): Promise<T>;
}

export function createContext(settings: ConfigResult, io: CliIO): CliContext {
  const config = (): Config => {
    if (!settings.ok) throw new CliError(`bad settings: ${settings.errors.join("; ")}`);
    return settings.config;
  };
  return {
    io,
    config,
    withCore: async (use) => {
      // No generateServiceKey: only the server may create ./data/service.key.
      const core = await openCore(config());
      try {
        return await use(core);
      } finally {
        await core.close();
      }
    },
  };
}
