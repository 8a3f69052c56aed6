/**
 * The signing key ring. Keys live in the store with the private half encrypted under SECRET_KEY;
 * each instance reloads the list every few seconds, so a key added by `sessionctl keys rotate` is
 * published at once and signs from its `activatesAt`. A key that stopped signing stays published
 * until the last access token it can have signed has expired.
 */

import { createPrivateKey, type KeyObject } from "node:crypto";
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { SigningAlg } from "./config";
import type { Clock, SessionStore, SigningKeyRow } from "./ports";
import { decrypt, encrypt } from "./secrets";

/** Default JWKS cache time (JWKS_MAX_AGE, the `max-age` we send): a rotated key signs only after it. */
export const JWKS_CACHE_MS = 300_000;
/** Leeway verifiers may allow on `exp`. */
const EXP_LEEWAY_MS = 5_000;
/** How often every instance re-reads the key list: keys added elsewhere are served within this. */
export const KEY_RELOAD_MS = 5_000;
/** How long an instance waits for another to make the first key before it makes one itself. */
const FIRST_KEY_WAIT_MS = 10_000;

export interface PublicJwk extends JWK {
  kty: string;
  kid: string;
  alg: string;
  use: "sig";
}

export async function generateSigningKey(
  alg: SigningAlg,
  kek: Buffer,
  createdAt: number,
  activatesAt: number,
): Promise<SigningKeyRow> {
  const options = alg === "RS256" ? { modulusLength: 2048, extractable: true } : { extractable: true };
  const { publicKey, privateKey } = await generateKeyPair(alg, options);
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = JSON.stringify(await exportJWK(privateKey));
  return {
    kid,
    alg,
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: "sig" }),
    privateKeyEncrypted: encrypt(kek, privateJwk, kid),
    createdAt,
    activatesAt,
    retiredAt: null,
  };
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

export class KeyRing {
  private rows: SigningKeyRow[] = [];
  private imported = new Map<string, { publicKey: CryptoKey; privateKey?: CryptoKey; privateKeyObject?: KeyObject }>();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** The store read that reloadIfUnknown callers share (monotonic start time, for coalescing). */
  private freshRead: { startedAt: number; done: Promise<void> } | null = null;

  constructor(
    private readonly store: SessionStore,
    private readonly kek: Buffer,
    private readonly alg: SigningAlg,
    private readonly accessTtlMs: number,
    private readonly clock: Clock,
  ) {}

  /** Loads the keys and makes sure one of the configured algorithm can sign now. */
  async open(): Promise<void> {
    await this.reload();
    const owner = crypto.randomUUID();
    const deadline = this.clock.now() + FIRST_KEY_WAIT_MS;
    while (!this.state().signer) {
      // Instances starting together on an empty store: one makes the first key, the others wait for it,
      // so they never serve different JWKS.
      const now = this.clock.now();
      if (now > deadline || (await this.store.acquireLease("first-signing-key", owner, FIRST_KEY_WAIT_MS, now))) {
        await this.reload();
        if (!this.state().signer)
          await this.store.insertSigningKey(await generateSigningKey(this.alg, this.kek, now, now));
      } else {
        await Bun.sleep(50);
      }
      await this.reload();
    }
  }

  /** Re-reads the list so that keys rotated elsewhere (CLI, other instances) are seen. */
  async reload(): Promise<void> {
    const rows = await this.store.listSigningKeys();
    for (const row of rows) {
      if (!this.imported.has(row.kid)) {
        this.imported.set(row.kid, { publicKey: (await importJWK(JSON.parse(row.publicJwk), row.alg)) as CryptoKey });
      }
    }
    this.rows = rows;
  }

  /**
   * A `kid` this instance has not loaded may have been added a moment ago by `sessionctl keys
   * rotate --now` or another instance, which may already sign with it: re-read the list now rather
   * than at the next tick, or instances would refuse each other's tokens for up to KEY_RELOAD_MS.
   * Callers share one read that started after they asked, so there is at most one such read at a time.
   */
  async reloadIfUnknown(kid: string | undefined): Promise<void> {
    if (!kid || this.rows.some((row) => row.kid === kid)) return;
    const asked = performance.now();
    for (;;) {
      const current = this.freshRead;
      if (!current) break;
      if (current.startedAt >= asked) return current.done;
      await current.done.catch(() => {});
    }
    const read = { startedAt: performance.now(), done: this.reload() };
    this.freshRead = read;
    try {
      await read.done;
    } finally {
      if (this.freshRead === read) this.freshRead = null;
    }
  }

  startReloading(onError: (error: unknown) => void): void {
    this.timer ??= setInterval(() => this.reload().catch(onError), KEY_RELOAD_MS);
  }

  stopReloading(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  state(): KeyState {
    return keyState(this.rows, this.alg, this.accessTtlMs, this.clock.now());
  }

  /** The active signing key, decrypted and imported once: as a WebCrypto key and as a node KeyObject. */
  async signingKey(): Promise<{ kid: string; alg: string; key: CryptoKey; keyObject: KeyObject }> {
    const signer = this.state().signer;
    if (!signer) throw new Error("no signing key is active");
    const entry = this.imported.get(signer.kid)!;
    if (!entry.privateKey || !entry.privateKeyObject) {
      const jwk = JSON.parse(decrypt(this.kek, signer.privateKeyEncrypted, signer.kid));
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
