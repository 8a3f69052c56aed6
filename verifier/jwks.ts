/**
 * The verification keys: the JWKS fetched at start and again when its Cache-Control max-age runs
 * out, or when a token names a `kid` we do not know (at most one fetch per 5 s, every miss waiting
 * for the same fetch). A failing endpoint never costs the keys we have: the last good set stays.
 */
import { type CryptoKey, importJWK, type JWK } from "jose";
import { maxAgeSeconds } from "./cache-control.js";
import type { VerifierEvent } from "./options.js";
import { cancellableSleep, type Sleep } from "./timers.js";

export const ALGORITHMS = ["EdDSA", "ES256", "RS256"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface VerificationKey {
  kid: string;
  alg: Algorithm;
  key: CryptoKey;
  /** The public members as fetched: an unchanged key is not imported again. */
  jwkText: string;
}

/** At most one JWKS request per this interval for unknown kids (CONTRACT §9). */
export const UNKNOWN_KID_SPACING_MS = 5_000;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_JWKS_BYTES = 1 << 20;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;

/** The public members per key type: anything else (a private `d` included) is never imported. */
function publicJwk(entry: Record<string, unknown>): { alg: Algorithm; jwk: JWK } | null {
  const { kty, crv, x, y, n, e, alg, use } = entry;
  if (use !== undefined && use !== "sig") return null;
  const str = (v: unknown): v is string => typeof v === "string" && v.length > 0;
  if (alg === "EdDSA" && kty === "OKP" && crv === "Ed25519" && str(x)) return { alg, jwk: { kty, crv, x } };
  if (alg === "ES256" && kty === "EC" && crv === "P-256" && str(x) && str(y)) return { alg, jwk: { kty, crv, x, y } };
  // RS256 keys shorter than 2048 bits are refused (the service never makes one); 342 base64url characters = 2048 bits.
  if (alg === "RS256" && kty === "RSA" && str(n) && str(e) && n.replace(/^A+/, "").length >= 342)
    return { alg, jwk: { kty, n, e } };
  return null;
}

export class KeySet {
  private keys = new Map<string, VerificationKey>();
  private fetching: Promise<void> | null = null;
  private fetchStartedAt = Number.NEGATIVE_INFINITY;
  /** Start of the last fetch made for unknown kids: the 5 s spacing counts from it, not from scheduled refreshes. */
  private unknownKidFetchStartedAt = Number.NEGATIVE_INFINITY;
  /** Start time of the last fetch that succeeded. */
  private lastGoodFetchStartedAt = Number.NEGATIVE_INFINITY;
  private unknownKidFetch: Promise<void> | null = null;
  private unknownKidEarliestMiss = 0;
  private failures = 0;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly refreshTimer = cancellableSleep();
  private readonly spacingTimer = cancellableSleep();
  private loadedOnce = false;
  private announceLoaded: () => void = () => {};
  private readonly loaded = new Promise<void>((resolve) => {
    this.announceLoaded = resolve;
  });

  constructor(
    private readonly url: URL,
    private readonly onEvent: (event: VerifierEvent) => void,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** True once any key set was loaded (until then every token is `unavailable`). */
  get ready(): boolean {
    return this.loadedOnce;
  }

  get(kid: string): VerificationKey | undefined {
    return this.keys.get(kid);
  }

  /** Starts loading; resolves when keys are loaded or after `timeoutMs`, loading going on in the background. */
  async start(timeoutMs: number): Promise<void> {
    void this.refresh();
    const timeout: Sleep = cancellableSleep();
    await Promise.race([this.loaded, timeout.sleep(timeoutMs)]);
    timeout.cancel();
  }

  /**
   * The key for a `kid` we do not have: waits for a fetch that starts after this miss (joining
   * one in flight or scheduled), so 1,000 concurrent misses make one request and a key published
   * a moment ago is found; undefined if the fresh set does not have it either. Such fetches are
   * at least 5 s apart: a miss within 5 s of the last one waits for the next (scheduled refreshes
   * do not count), so no flood of made-up kids makes more than one request per 5 s, and none of
   * them can make a key rotated in a moment later look unknown.
   */
  async unknownKid(kid: string): Promise<VerificationKey | undefined> {
    const missAt = performance.now();
    if (this.closed) return undefined;
    if (this.fetching && this.fetchStartedAt >= missAt) await this.fetching;
    else {
      if (!this.unknownKidFetch) {
        this.unknownKidEarliestMiss = missAt;
        this.unknownKidFetch = this.fetchForUnknownKids();
      }
      await this.unknownKidFetch;
    }
    return this.keys.get(kid);
  }

  private async fetchForUnknownKids(): Promise<void> {
    const wait = this.unknownKidFetchStartedAt + UNKNOWN_KID_SPACING_MS - performance.now();
    // Always through a timer, also at 0: the caller stores this promise only after the first await.
    await this.spacingTimer.sleep(Math.max(0, wait));
    if (this.fetching) await this.fetching;
    // Misses from now on need a fetch that starts after them, not this one.
    this.unknownKidFetch = null;
    // A scheduled refresh may have answered these misses while they waited.
    if (this.closed || this.lastGoodFetchStartedAt >= this.unknownKidEarliestMiss) return;
    this.unknownKidFetchStartedAt = performance.now();
    await this.refresh();
  }

  private refresh(): Promise<void> {
    if (this.fetching) return this.fetching;
    this.refreshTimer.cancel();
    this.fetchStartedAt = performance.now();
    const startedAt = this.fetchStartedAt;
    this.fetching = this.fetchOnce()
      .then((maxAgeS) => {
        this.failures = 0;
        this.lastGoodFetchStartedAt = startedAt;
        this.scheduleRefresh(maxAgeS * 1000);
      })
      .catch((error: unknown) => {
        this.failures++;
        if (this.closed) return;
        this.onEvent({ type: "keys_failed", reason: error instanceof Error ? error.message : "unknown error" });
        this.scheduleRefresh(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.failures - 1)));
      })
      .finally(() => {
        this.fetching = null;
      });
    return this.fetching;
  }

  private scheduleRefresh(delayMs: number): void {
    if (this.closed) return;
    void this.refreshTimer.sleep(delayMs).then((elapsed) => {
      if (elapsed) void this.refresh();
    });
  }

  /** One request; the new set replaces the old only when it holds at least one usable key. Returns max-age. */
  private async fetchOnce(): Promise<number> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    const onClose = () => controller.abort();
    this.abort.signal.addEventListener("abort", onClose);
    try {
      let response: Response;
      try {
        response = await fetch(this.url, {
          signal: controller.signal,
          redirect: "manual",
          headers: { accept: "application/json" },
        });
      } catch {
        throw new Error(controller.signal.aborted ? "JWKS request timed out" : "JWKS endpoint unreachable");
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => {});
        throw new Error(`JWKS endpoint answered ${response.status}`);
      }
      if (Number(response.headers.get("content-length") ?? 0) > MAX_JWKS_BYTES) {
        await response.body?.cancel().catch(() => {});
        throw new Error("JWKS too large");
      }
      const text = await response.text().catch(() => {
        throw new Error("JWKS body could not be read");
      });
      if (text.length > MAX_JWKS_BYTES) throw new Error("JWKS too large");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error("JWKS is not JSON");
      }
      const entries = (body as { keys?: unknown })?.keys;
      if (!Array.isArray(entries)) throw new Error("JWKS has no keys array");
      const next = await this.importAll(entries);
      if (this.closed) throw new Error("closed");
      if (next.size === 0) throw new Error("JWKS has no usable key (EdDSA, ES256 or RS256)");
      this.keys = next;
      this.onEvent({ type: "keys_loaded", keys: next.size });
      if (!this.loadedOnce) {
        this.loadedOnce = true;
        this.announceLoaded();
      }
      return maxAgeSeconds(response.headers.get("cache-control"));
    } finally {
      clearTimeout(timeout);
      this.abort.signal.removeEventListener("abort", onClose);
    }
  }

  private async importAll(entries: unknown[]): Promise<Map<string, VerificationKey>> {
    const next = new Map<string, VerificationKey>();
    for (const entry of entries) {
      if (typeof entry !== "object" || entry === null) continue;
      const kid = (entry as { kid?: unknown }).kid;
      // A duplicated kid is ambiguous: the first one counts.
      if (typeof kid !== "string" || kid === "" || kid.length > 256 || next.has(kid)) continue;
      const usable = publicJwk(entry as Record<string, unknown>);
      if (!usable) continue;
      const jwkText = JSON.stringify(usable.jwk);
      const known = this.keys.get(kid);
      if (known && known.alg === usable.alg && known.jwkText === jwkText) {
        next.set(kid, known);
        continue;
      }
      try {
        const key = (await importJWK(usable.jwk, usable.alg)) as CryptoKey;
        next.set(kid, { kid, alg: usable.alg, key, jwkText });
      } catch {
        // not a valid key of its type: skipped like any other unusable entry
      }
    }
    return next;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    this.refreshTimer.cancel();
    this.spacingTimer.cancel();
  }
}
