/**
 * The signing key ring. Keys live in the store with the private half encrypted under SECRET_KEY
 * and every column under a MAC (integrity.ts); each instance reloads the list every few seconds,
 * so a key added by `sessionctl keys rotate` is published at once and signs from its
 * `activatesAt`. A key that stopped signing stays published until the last access token it can
 * have signed has expired. A row that fails its MAC is neither published nor used.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { ServiceError } from "./errors";
import { signingKeyIntact, signingKeyMac } from "./integrity";
import type { Clock, Leases, SigningKeyRepository, SigningKeyRow } from "./ports";
import { decrypt, encrypt } from "./secrets";

export type SigningAlg = "EdDSA" | "ES256" | "RS256";
export const SIGNING_ALGS: readonly SigningAlg[] = ["EdDSA", "ES256", "RS256"];

/** Leeway verifiers may allow on `exp`. */
const EXP_LEEWAY_MS = 5_000;
/** How long an instance waits for another to make the first key before it makes one itself. */
const FIRST_KEY_WAIT_MS = 10_000;

export interface PublicJwk extends JWK {
  kty: string;
  kid: string;
  alg: string;
  use: "sig";
}

export interface KeySecrets {
  /** AES-256-GCM key of the private halves. */
  keyEncryptionKey: Buffer;
  /** MAC key of the rows. */
  integrityKey: Buffer;
}

/** The store's keys were made under another SECRET_KEY: the process must not start (CONTRACT §8). */
export class SecretKeyMismatch extends Error {
  constructor() {
    super("SECRET_KEY does not match the store: its signing keys were made with another SECRET_KEY");
    this.name = "SecretKeyMismatch";
  }
}

export async function generateSigningKey(
  alg: SigningAlg,
  secrets: KeySecrets,
  createdAt: number,
  activatesAt: number,
): Promise<SigningKeyRow> {
  const options = alg === "RS256" ? { modulusLength: 2048, extractable: true } : { extractable: true };
  let pair: Awaited<ReturnType<typeof generateKeyPair>>;
  let publicJwk: Awaited<ReturnType<typeof exportJWK>>;
  let kid: string;
  // The kid is the key's thumbprint (RFC 7638), base64url: one in 64 would start with "-", which
  // `sessionctl keys retire <kid>` would read as an option. Such a key is drawn again.
  do {
    pair = await generateKeyPair(alg, options);
    publicJwk = await exportJWK(pair.publicKey);
    kid = await calculateJwkThumbprint(publicJwk);
  } while (kid.startsWith("-"));
  const { privateKey } = pair;
  const row = {
    kid,
    alg,
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: "sig" }),
    privateKeyEncrypted: encrypt(secrets.keyEncryptionKey, JSON.stringify(await exportJWK(privateKey)), kid),
    createdAt,
    activatesAt,
    retiredAt: null,
  };
  return { ...row, mac: signingKeyMac(secrets.integrityKey, row) };
}

/** The row of a retired key, MAC renewed (retired_at is covered by it). */
export function retiredKey(row: SigningKeyRow, now: number, integrityKey: Buffer): SigningKeyRow {
  const { mac: _old, ...columns } = row;
  const retired = { ...columns, retiredAt: now };
  return { ...retired, mac: signingKeyMac(integrityKey, retired) };
}

interface KeyState {
  signer: SigningKeyRow | null;
  published: SigningKeyRow[];
}

/** Which key signs now and which are published, from the full list. Pure, so the CLI shares it. */
export function keyState(rows: SigningKeyRow[], alg: SigningAlg, accessTtlMs: number, now: number): KeyState {
  const live = rows.filter((row) => row.retiredAt === null).sort((a, b) => a.activatesAt - b.activatesAt);
  const signing = live.filter((row) => row.alg === alg && row.activatesAt <= now);
  const signer = signing.at(-1) ?? null;
  const published = live.filter((row) => {
    if (row === signer || row.activatesAt > now) return true;
    // It stopped signing when the next key of the signing algorithm took over.
    const next = signing.find((other) => other.activatesAt > row.activatesAt);
    const stoppedAt = next ? next.activatesAt : now;
    return stoppedAt + accessTtlMs + EXP_LEEWAY_MS > now;
  });
  return { signer, published };
}

export interface KeyRingOptions {
  /** How often the list is re-read (default 5 s): keys added elsewhere are served within this. */
  reloadMs?: number;
  /** At most one extra read per this long for tokens naming a kid not loaded (default 1 s). */
  unknownKidReloadMs?: number;
  /** A row failed its MAC (reported once per kid). */
  onTampered?: (kid: string) => void;
}

export class KeyRing {
  private rows: SigningKeyRow[] = [];
  private readonly imported = new Map<
    string,
    { publicKey: CryptoKey; privateKey?: CryptoKey; privateKeyObject?: KeyObject }
  >();
  private readonly reported = new Set<string>();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** The one read that callers with an unknown kid share, and when the last one started. */
  private unknownKidRead: Promise<void> | null = null;
  private lastUnknownKidRead = Number.NEGATIVE_INFINITY;
  readonly reloadMs: number;
  private readonly unknownKidReloadMs: number;

  constructor(
    private readonly store: SigningKeyRepository,
    private readonly secrets: KeySecrets,
    private readonly alg: SigningAlg,
    private readonly accessTtlMs: number,
    private readonly clock: Clock,
    private readonly options: KeyRingOptions = {},
  ) {
    this.reloadMs = options.reloadMs ?? 5_000;
    this.unknownKidReloadMs = options.unknownKidReloadMs ?? 1_000;
  }

  /**
   * Loads the keys and proves SECRET_KEY matches them: when the store holds keys and none passes
   * its MAC or the signer cannot be decrypted, throws SecretKeyMismatch. With `bootstrap` (the
   * server) it also makes sure a key of the configured algorithm signs now, under `leases` so
   * instances starting together on an empty store make one first key, not several.
   */
  async open(bootstrap?: { leases: Leases }): Promise<void> {
    const stored = await this.reload();
    if (stored > 0 && this.rows.length === 0) throw new SecretKeyMismatch();
    if (this.state().signer) await this.signingKey().catch(() => Promise.reject(new SecretKeyMismatch()));
    if (!bootstrap) return;
    const owner = crypto.randomUUID();
    const deadline = this.clock.now() + FIRST_KEY_WAIT_MS;
    while (!this.state().signer) {
      const now = this.clock.now();
      if (now > deadline || (await bootstrap.leases.acquireLease("first-signing-key", owner, FIRST_KEY_WAIT_MS, now))) {
        await this.reload();
        if (!this.state().signer)
          await this.store.insertSigningKey(await generateSigningKey(this.alg, this.secrets, now, now));
      } else {
        await Bun.sleep(50);
      }
      await this.reload();
    }
  }

  /** Re-reads the list so that keys rotated elsewhere (CLI, other instances) are seen. Returns how many rows the store holds. */
  async reload(): Promise<number> {
    const stored = await this.store.listSigningKeys();
    const rows = stored.filter((row) => {
      if (signingKeyIntact(this.secrets.integrityKey, row)) return true;
      if (!this.reported.has(row.kid)) {
        this.reported.add(row.kid);
        this.options.onTampered?.(row.kid);
      }
      return false;
    });
    for (const row of rows) {
      if (!this.imported.has(row.kid)) {
        this.imported.set(row.kid, { publicKey: (await importJWK(JSON.parse(row.publicJwk), row.alg)) as CryptoKey });
      }
    }
    this.rows = rows;
    return stored.length;
  }

  /**
   * A `kid` this instance has not loaded may have been added a moment ago by `sessionctl keys
   * rotate --now` or another instance, which may already sign with it: re-read the list now rather
   * than at the next tick. Anyone can send such a token, so callers share one read, and there is
   * at most one such read per `unknownKidReloadMs`: a flood of made-up kids costs the store nothing more.
   */
  async reloadIfUnknown(kid: string | undefined): Promise<void> {
    if (!kid || this.rows.some((row) => row.kid === kid)) return;
    if (this.unknownKidRead) return this.unknownKidRead;
    const now = performance.now();
    if (now - this.lastUnknownKidRead < this.unknownKidReloadMs) return;
    this.lastUnknownKidRead = now;
    this.unknownKidRead = this.reload().then(
      () => {},
      () => {},
    );
    try {
      await this.unknownKidRead;
    } finally {
      this.unknownKidRead = null;
    }
  }

  startReloading(onError: (error: unknown) => void): void {
    this.timer ??= setInterval(() => this.reload().catch(onError), this.reloadMs);
  }

  stopReloading(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The keys that passed their integrity check. */
  list(): SigningKeyRow[] {
    return this.rows;
  }

  state(): KeyState {
    return keyState(this.rows, this.alg, this.accessTtlMs, this.clock.now());
  }

  /** The active signing key, decrypted and imported once: as a WebCrypto key and as a node KeyObject. */
  async signingKey(): Promise<{ kid: string; alg: string; key: CryptoKey; keyObject: KeyObject }> {
    const signer = this.state().signer;
    if (!signer) throw new ServiceError("unavailable", "No signing key is active; retry later.");
    const entry = this.imported.get(signer.kid)!;
    if (!entry.privateKey || !entry.privateKeyObject) {
      const jwk = JSON.parse(decrypt(this.secrets.keyEncryptionKey, signer.privateKeyEncrypted, signer.kid));
      entry.privateKey = (await importJWK(jwk, signer.alg)) as CryptoKey;
      entry.privateKeyObject = createPrivateKey({ key: jwk, format: "jwk" });
    }
    return { kid: signer.kid, alg: signer.alg, key: entry.privateKey, keyObject: entry.privateKeyObject };
  }

  /** The public key for a `kid`, only while that key is published; its algorithm is pinned. */
  verificationKey(kid: string | undefined): { alg: string; key: CryptoKey } | null {
    if (!kid) return null;
    const row = this.state().published.find((candidate) => candidate.kid === kid);
    return row ? { alg: row.alg, key: this.imported.get(kid)!.publicKey } : null;
  }

  jwks(): { keys: PublicJwk[] } {
    return { keys: this.state().published.map((row) => JSON.parse(row.publicJwk) as PublicJwk) };
  }
}
