/**
 * The verification keys: the JWKS fetched at start and again when its Cache-Control max-age runs
 * out, or when a token names a `kid` we do not know (at most one such fetch per 5 s by default,
 * concurrent misses sharing it). A failing endpoint never costs the keys we have: the last good
 * set stays.
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

const FETCH_TIMEOUT_MS = 5_000;
const MAX_JWKS_BYTES = 1 << 20;
const RETRY_FIRST_MS = 250;

export interface KeySetTimers {
  /** At most one JWKS request per this interval for unknown kids (CONTRACT §9: 5 s). */
  unknownKidSpacingMs: number;
  /** Retries of a failing endpoint double from 250 ms up to this. */
  retryMaxMs: number;
}

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
  /** Start of the last fetch made for unknown kids: the spacing counts from it, not from scheduled refreshes. */
  private unknownKidFetchStartedAt = Number.NEGATIVE_INFINITY;
  private unknownKidFetch: Promise<void> | null = null;
  private trailingFetchScheduled = false;
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
    private readonly timers: KeySetTimers,
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
   * The key for a `kid` we do not have. A fetch for unknown kids is made at most once per spacing
   * (5 s) and every miss meanwhile shares it, so 1,000 concurrent misses make one request. A miss
   * within the spacing after that fetch is answered at once from the keys we have (a flood of
   * made-up kids costs nothing), and one more fetch follows when the spacing is over, so a key
   * published in between is known within the spacing. Scheduled refreshes (max-age) do not count
   * against it.
   */
  async unknownKid(kid: string): Promise<VerificationKey | undefined> {
    if (this.closed) return undefined;
    if (!this.unknownKidFetch) {
      if (performance.now() - this.unknownKidFetchStartedAt < this.timers.unknownKidSpacingMs) {
        this.scheduleTrailingFetch();
        return undefined;
      }
      this.unknownKidFetch = this.fetchForUnknownKids();
    }
    await this.unknownKidFetch;
    return this.keys.get(kid);
  }

  private async fetchForUnknownKids(): Promise<void> {
    this.unknownKidFetchStartedAt = performance.now();
    try {
      await this.refresh();
    } finally {
      // After the first await, so always after the caller stored this promise.
      this.unknownKidFetch = null;
    }
  }

  private scheduleTrailingFetch(): void {
    if (this.trailingFetchScheduled) return;
    this.trailingFetchScheduled = true;
    const wait = this.unknownKidFetchStartedAt + this.timers.unknownKidSpacingMs - performance.now();
    void this.spacingTimer.sleep(Math.max(0, wait)).then((elapsed) => {
      this.trailingFetchScheduled = false;
      if (elapsed && !this.closed && !this.unknownKidFetch) this.unknownKidFetch = this.fetchForUnknownKids();
    });
  }

  private refresh(): Promise<void> {
    if (this.fetching) return this.fetching;
    this.refreshTimer.cancel();
    this.fetching = this.fetchOnce()
      .then((maxAgeS) => {
        this.failures = 0;
        this.scheduleRefresh(maxAgeS * 1000);
      })
      .catch((error: unknown) => {
        this.failures++;
        if (this.closed) return;
        this.onEvent({ type: "keys_failed", reason: error instanceof Error ? error.message : "unknown error" });
        this.scheduleRefresh(Math.min(this.timers.retryMaxMs, RETRY_FIRST_MS * 2 ** (this.failures - 1)));
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
