/**
 * The one place that builds the core, for the server and for sessionctl alike, so a revoke from
 * the CLI writes exactly the event a logout does. Two roles differ in what they may do to the
 * store and the data folder (CONTRACT §6, §8):
 * - the server generates ./data/secret.key when it is missing, ./data/service.key when nothing else
 *   grants access (data-files.ts), and makes the first signing key;
 * - an operator (a writing sessionctl command) does neither: it needs the server's SECRET_KEY (the
 *   setting, or for SQLite the secret.key beside the database), and refuses to run when that key
 *   does not match the store's keys.
 * Read-only sessionctl commands do not build a core at all (cli/context.ts opens the store read-only).
 */
import { openStore } from "../db/open-store";
import type { Config } from "./config";
import { AccessTokens } from "./core/access-tokens";
import { AdminService } from "./core/admin";
import { RefreshProofs } from "./core/dpop";
import { type Clock, type SessionObserver, type SessionStore, systemClock } from "./core/ports";
import { type DerivedSecrets, deriveSecrets } from "./core/secrets";
import { ServiceKeys } from "./core/service-keys";
import { SessionService } from "./core/sessions";
import { KeyRing } from "./core/signing-keys";
import { generatedServiceKey, loadSecretKey } from "./data-files";

export interface Core {
  config: Config;
  store: SessionStore;
  secrets: DerivedSecrets;
  keys: KeyRing;
  sessions: SessionService;
  serviceKeys: ServiceKeys;
  /** The file of the generated service key while that key is accepted (the server only), else null. */
  generatedServiceKeyFile: string | null;
  admin: AdminService;
  /** DPoP proof checking and nonces (CONTRACT §10), shared by the refresh flow and the HTTP edge. */
  dpop: RefreshProofs;
  clock: Clock;
  close(): Promise<void>;
}

export interface OpenOptions {
  role: "server" | "operator";
  clock?: Clock;
  /** Lifecycle logs and metrics (the server's); the CLI reports nothing. */
  observer?: SessionObserver;
  /** SQLite: most WAL checkpointing in a worker thread (the server does; a short CLI run has no need). */
  backgroundCheckpoints?: boolean;
}

export async function openCore(config: Config, options: OpenOptions): Promise<Core> {
  const clock = options.clock ?? systemClock;
  const server = options.role === "server";
  const secrets = deriveSecrets(
    loadSecretKey(config.secretKey, config.dataDir, { create: server, store: config.databaseUrl }),
  );
  const store = await openStore(config, { backgroundCheckpoints: options.backgroundCheckpoints });
  try {
    const keys = new KeyRing(store.signingKeys, secrets, config.jwtAlg, config.accessTokenTtlMs, clock, {
      reloadMs: config.timers.keyReloadMs,
      onTampered: (kid) => options.observer?.tampered("signing_key", kid),
    });
    // The server makes the first key; an operator only proves its SECRET_KEY matches the keys there are.
    await keys.open(server ? { leases: store.leases } : undefined);
    const serviceKeys = new ServiceKeys(store.serviceClients, secrets.serviceKeyHashKey, config.serviceKeys);
    // With no SERVICE_KEYS, the server's own generated key (a store client, so sessionctl can end it).
    const generatedServiceKeyFile =
      server && config.serviceKeys.size === 0
        ? await generatedServiceKey(store.serviceClients, serviceKeys, config.dataDir, clock.now())
        : null;
    const tokens = new AccessTokens(keys, {
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlMs: config.accessTokenTtlMs,
    });
    const dpop = new RefreshProofs({
      publicUrl: config.publicUrl,
      proofMaxAgeMs: config.dpopProofMaxAgeMs,
      clockSkewMs: config.dpopClockSkewMs,
      nonce: config.dpopNonce,
      nonceKey: secrets.dpopNonceKey,
    });
    const sessions = new SessionService({
      sessions: store.sessions,
      clock,
      tokens,
      secrets,
      settings: config,
      newId: () => Bun.randomUUIDv7(),
      observer: options.observer,
      dpop,
    });
    const keySettings = { ...config, keyReloadMs: config.timers.keyReloadMs };
    const admin = new AdminService({ store, clock, keys: keySettings, secrets, serviceKeys });
    return {
      config,
      store,
      secrets,
      keys,
      sessions,
      serviceKeys,
      generatedServiceKeyFile,
      admin,
      dpop,
      clock,
      close: async () => {
        keys.stopReloading();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
