/**
 * Shared parts of the verifier tests: the real server on SQLite with a real nats-server, verifiers
 * that are all closed afterwards, sessions opened over HTTP, and a JWKS endpoint of our own that
 * counts its requests and can fail on demand.
 */
import { expect } from "bun:test";
import { rmSync } from "node:fs";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { createVerifier, type Verifier, VerifierError, type VerifierOptions } from "../../verifier/index.ts";
import { tempDir } from "../support/core";
import { natsClient, type RunningNats, startNats } from "../support/nats";
import { client, type Pair, type RunningServer, startServer } from "../support/server";
import { waitFor } from "../support/wait";

export const ISSUER = "session-service";
export const AUDIENCE = "api";

/** Verifiers of one test file; `closeAll` in afterAll. */
export class Verifiers {
  private readonly open = new Set<Verifier>();

  async start(options: Partial<VerifierOptions> & Pick<VerifierOptions, "jwksUrl">): Promise<Verifier> {
    const verifier = await createVerifier({ issuer: ISSUER, audience: AUDIENCE, ...options });
    this.open.add(verifier);
    return verifier;
  }

  async close(verifier: Verifier): Promise<void> {
    this.open.delete(verifier);
    await verifier.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((v) => v.close()));
    this.open.clear();
  }
}

/** The real server with NATS_URL set, its SESSIONS stream created (one session opened), and a test client of that nats-server. */
export async function startStack(env: Record<string, string> = {}) {
  const dir = tempDir("verifier-test-");
  const nats = await startNats();
  let server: RunningServer | null = null;
  let natsTest: Awaited<ReturnType<typeof natsClient>> | null = null;
  try {
    server = await startServer(dir, { NATS_URL: nats.url, ...env });
    natsTest = await natsClient(nats.url);
    // The service creates SESSIONS with its first event.
    expect((await client(server.url).create({ user_id: "stack-warm-up" })).status).toBe(201);
    await natsTest.waitForStream("SESSIONS");
  } catch (error) {
    // Nothing of a half-started stack may outlive the test file.
    await natsTest?.close();
    await server?.kill();
    await nats.cleanup();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const started = { server, natsTest };
  return {
    dir,
    nats,
    server: started.server,
    natsTest: started.natsTest,
    api: client(started.server.url),
    jwksUrl: `${started.server.url}/.well-known/jwks.json`,
    /** Verifier options for this stack (with live revocations). */
    options: (extra: Partial<VerifierOptions> = {}) => ({
      jwksUrl: `${started.server.url}/.well-known/jwks.json`,
      nats: { servers: nats.url },
      ...extra,
    }),
    async stop() {
      await started.natsTest.close();
      await started.server.kill();
      await nats.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type Stack = Awaited<ReturnType<typeof startStack>>;

export async function openSession(stack: { api: ReturnType<typeof client> }, userId: string): Promise<Pair> {
  const res = await stack.api.create({ user_id: userId });
  expect(res.status).toBe(201);
  return (await res.json()) as Pair;
}

/** The VerifierError `verify` rejected with; fails if it resolved or threw anything else. */
export async function rejection(verifier: Verifier, token: unknown): Promise<VerifierError> {
  try {
    await verifier.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(VerifierError);
    return error as VerifierError;
  }
  throw new Error("verify resolved, a rejection was expected");
}

/** Asserts the code, and that neither the message, the stack nor the serialized error holds the token or its signature. */
export async function expectRefused(verifier: Verifier, token: unknown, code: VerifierError["code"]): Promise<void> {
  const error = await rejection(verifier, token);
  expect(error.code).toBe(code);
  if (typeof token === "string" && token.length >= 8) {
    const signature = token.split(".")[2] ?? "";
    for (const text of [error.message, String(error.stack), JSON.stringify(error), String(error)]) {
      expect(text).not.toContain(token.slice(0, 64));
      if (signature.length >= 16) expect(text).not.toContain(signature);
    }
  }
}

/** Waits until `verifier` refuses `token` with `code` (revocations arrive asynchronously). */
export async function waitForRefusal(
  verifier: Verifier,
  token: string,
  code: VerifierError["code"],
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(
    `verify → ${code}`,
    async () => {
      try {
        await verifier.verify(token);
        return false;
      } catch (error) {
        return (error as VerifierError).code === code;
      }
    },
    timeoutMs,
    10,
  );
}

// ---- a JWKS endpoint and signing keys of the test's own ----

export type Alg = "EdDSA" | "ES256" | "RS256" | "PS256";

export interface TestKey {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  jwk: JWK & { kid: string; alg: string; use: string };
}

export async function makeKey(alg: Alg = "EdDSA", kid = crypto.randomUUID()): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export function claims(extra: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "user-1",
    sid: crypto.randomUUID(),
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
    ...extra,
  };
}

export function sign(key: TestKey, payload: JWTPayload = claims(), header: Record<string, unknown> = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "at+jwt", ...header } as never)
    .sign(key.privateKey);
}

/** A JWKS endpoint on 127.0.0.1 that serves `keys`, counts requests, and fails while `failing` is set. */
export function jwksServer(initial: { keys: unknown[]; cacheControl?: string | null }) {
  const state = {
    keys: initial.keys,
    cacheControl: initial.cacheControl === undefined ? "public, max-age=300" : initial.cacheControl,
    failing: null as null | "500" | "garbage" | "hang",
    requests: 0,
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch() {
      state.requests++;
      if (state.failing === "500") return new Response("down", { status: 500 });
      if (state.failing === "garbage") return new Response("<html>", { status: 200 });
      if (state.failing === "hang") await Bun.sleep(20_000);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (state.cacheControl !== null) headers["cache-control"] = state.cacheControl;
      return new Response(JSON.stringify({ keys: state.keys }), { headers });
    },
  });
  return { state, url: `http://127.0.0.1:${server.port}/.well-known/jwks.json`, stop: () => server.stop(true) };
}

export { type RunningNats, type RunningServer, waitFor };

/** Forwards every request to `target` and counts them (to see how often a verifier fetched the real JWKS). */
export function countingProxy(target: string) {
  const state = { requests: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch() {
      state.requests++;
      const upstream = await fetch(target);
      return new Response(await upstream.text(), { status: upstream.status, headers: upstream.headers });
    },
  });
  return { state, url: `http://127.0.0.1:${server.port}/.well-known/jwks.json`, stop: () => server.stop(true) };
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort` that the test can cut (every connection
 * dropped, nothing listening) and restore on the same port: a network outage for whoever connects
 * through it, while everyone else still reaches the target.
 */
export async function tcpProxy(targetPort: number) {
  const { createConnection, createServer } = await import("node:net");
  const port = await (await import("../support/server")).freePort();
  const sockets = new Set<import("node:net").Socket>();
  let server: import("node:net").Server | null = null;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
          socket.on("error", () => {});
        }
        client.pipe(upstream);
        upstream.pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => resolve());
      server = listening;
    });
  const cut = async () => {
    const closing = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await start();
  return { url: `nats://127.0.0.1:${port}`, cut, restore: start, stop: cut };
}
