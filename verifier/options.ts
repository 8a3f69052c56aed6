/** What `createVerifier` takes (CONTRACT §9) plus a few documented extras, checked once. */
import type { ConnectionOptions } from "nats";

export interface NatsOptions {
  /** One URL, a comma-separated list, or an array (seed servers of a cluster). */
  servers: string | string[];
  /** The stream of session events. Default `SESSIONS`. */
  stream?: string;
  /** *Extra*: the subject revocations are read from. Default `session.revoked`. */
  subject?: string;
  /** *Extra*: further nats.js connection options (credentials, TLS, name…); `servers` wins. */
  connection?: Omit<ConnectionOptions, "servers">;
}

/** Something worth a log line; the verifier itself never logs. */
export type VerifierEvent =
  | { type: "keys_loaded"; keys: number }
  | { type: "keys_failed"; reason: string }
  | { type: "revocations"; state: RevocationState }
  | { type: "malformed_event"; sequence: number };

export type RevocationState = "disabled" | "live" | "catching_up" | "disconnected";

export interface VerifierOptions {
  jwksUrl: string;
  /** Expected `iss`. */
  issuer: string;
  /** Expected `aud` (a token must name one of them). */
  audience: string | string[];
  /** Live revocations from JetStream; without it only signatures and claims are checked. */
  nats?: NatsOptions;
  /** Leeway on `exp`/`nbf`, and how long past `access_token_expires_at` a revocation is kept. Default 5. */
  clockToleranceSeconds?: number;
  /** How far back the stream is read at start. Default 3600 (the longest ACCESS_TOKEN_TTL). */
  revocationLookbackSeconds?: number;
  /** Refuse with `unavailable` once revocations have been disconnected for longer than this. */
  failClosedAfterMs?: number;
  /** *Extra*: longest token accepted for parsing, in characters. Default 8192. */
  maxTokenLength?: number;
  /** *Extra*: how many verified tokens are remembered (so a repeated token skips the signature). Default 10,000. */
  verifiedCacheSize?: number;
  /** *Extra*: notified of key loads and failures, revocation state changes and malformed events. */
  onEvent?: (event: VerifierEvent) => void;
  /** *Extra*, for tests: the clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** *Extra*: JetStream idle heartbeat; three missed ones count as disconnected. Default 1000. */
  heartbeatMs?: number;
  /** *Extra*: the longest `createVerifier` waits for keys before it resolves anyway. Default (and at most) 10,000. */
  startTimeoutMs?: number;
  /** *Extra*: at most one JWKS request per this interval for unknown kids. Default 5000 (CONTRACT §9). */
  unknownKidSpacingMs?: number;
  /** *Extra*: the longest wait between retries of a failing JWKS endpoint (it doubles from 250 ms). Default 30,000. */
  keysRetryMaxMs?: number;
}

export interface Settings {
  jwksUrl: URL;
  issuer: string;
  audience: string | string[];
  nats: { servers: string[]; stream: string; subject: string; connection: Omit<ConnectionOptions, "servers"> } | null;
  toleranceSeconds: number;
  lookbackSeconds: number;
  failClosedAfterMs: number | null;
  maxTokenLength: number;
  verifiedCacheSize: number;
  onEvent: (event: VerifierEvent) => void;
  now: () => number;
  heartbeatMs: number;
  startTimeoutMs: number;
  unknownKidSpacingMs: number;
  keysRetryMaxMs: number;
}

const START_TIMEOUT_MS = 10_000;

/** A listener that throws must never break verification or the revocation feed. */
function safely(listener: VerifierOptions["onEvent"]): (event: VerifierEvent) => void {
  if (!listener) return () => {};
  return (event) => {
    try {
      listener(event);
    } catch {
      // the listener's problem, not ours
    }
  };
}

/** Defaults applied, every problem reported at once (a TypeError: it is the caller's mistake). */
export function settingsFrom(options: VerifierOptions): Settings {
  const problems: string[] = [];
  const number = (name: string, value: unknown, fallback: number | null, min: number, max: number): number | null => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${name} must be a number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const text = (name: string, value: unknown): string => {
    if (typeof value !== "string" || value === "") problems.push(`${name} must be a non-empty string`);
    return String(value);
  };

  let jwksUrl = new URL("http://invalid.invalid/");
  try {
    jwksUrl = new URL(text("jwksUrl", options?.jwksUrl));
    if (jwksUrl.protocol !== "http:" && jwksUrl.protocol !== "https:") problems.push("jwksUrl must be http(s)");
  } catch {
    problems.push("jwksUrl must be a URL");
  }
  const issuer = text("issuer", options?.issuer);
  const audience = options?.audience;
  if (Array.isArray(audience) ? audience.length === 0 || audience.some((a) => typeof a !== "string" || !a) : !audience)
    problems.push("audience must be a non-empty string or array of strings");

  let nats: Settings["nats"] = null;
  if (options?.nats !== undefined) {
    const given = options.nats;
    const list = typeof given?.servers === "string" ? given.servers.split(",") : given?.servers;
    const servers = Array.isArray(list) ? list.map((s) => String(s).trim()).filter(Boolean) : [];
    if (servers.length === 0) problems.push("nats.servers must name at least one server");
    nats = {
      servers,
      stream: given?.stream === undefined ? "SESSIONS" : text("nats.stream", given.stream),
      subject: given?.subject === undefined ? "session.revoked" : text("nats.subject", given.subject),
      connection: given?.connection ?? {},
    };
  }

  const settings: Settings = {
    jwksUrl,
    issuer,
    audience: audience as string | string[],
    nats,
    toleranceSeconds: number("clockToleranceSeconds", options?.clockToleranceSeconds, 5, 0, 300)!,
    lookbackSeconds: number("revocationLookbackSeconds", options?.revocationLookbackSeconds, 3600, 0, 86_400 * 7)!,
    failClosedAfterMs: number("failClosedAfterMs", options?.failClosedAfterMs, null, 0, Number.MAX_SAFE_INTEGER),
    maxTokenLength: number("maxTokenLength", options?.maxTokenLength, 8192, 64, 1 << 20)!,
    verifiedCacheSize: number("verifiedCacheSize", options?.verifiedCacheSize, 10_000, 0, 10_000_000)!,
    onEvent: safely(options?.onEvent),
    now: options?.now ?? Date.now,
    heartbeatMs: number("heartbeatMs", options?.heartbeatMs, 1000, 100, 60_000)!,
    startTimeoutMs: number("startTimeoutMs", options?.startTimeoutMs, START_TIMEOUT_MS, 0, START_TIMEOUT_MS)!,
    unknownKidSpacingMs: number("unknownKidSpacingMs", options?.unknownKidSpacingMs, 5_000, 100, 60_000)!,
    keysRetryMaxMs: number("keysRetryMaxMs", options?.keysRetryMaxMs, 30_000, 250, 600_000)!,
  };
  if (problems.length > 0) throw new TypeError(`createVerifier: ${problems.join("; ")}`);
  return settings;
}
