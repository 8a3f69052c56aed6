/**
 * Commands that write key material (keys rotate/retire --force, clients add) must use the server's
 * SECRET_KEY: a key encrypted, or a client key hashed, under another secret would be silently
 * useless to the server. Decrypting the current signing key proves the secrets match.
 */
import type { Core } from "../server/open-core";
import { CliError } from "./exit-codes";

export async function requireServersSecretKey(core: Core): Promise<void> {
  try {
    await core.keys.signingKey();
  } catch {
    throw new CliError(
      "SECRET_KEY does not match the one this store's signing keys were made with; run sessionctl with the server's SECRET_KEY",
    );
  }
}
