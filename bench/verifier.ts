/**
 * The verifier library (issue 13), on 127.0.0.1 only, every process stopped at the end:
 * - verifications per second of valid access tokens of the real server, cold (each token new) and
 *   warm (the same 1,000 tokens again), next to bare jose (jwtVerify + createLocalJWKSet, the same
 *   checks) measured in the same run, rounds alternating; the verifier is live on NATS meanwhile;
 * - revocation propagation: from the 204 of a logout to the first refusal at each of 3 verifiers;
 * - resident memory of a verifier process tracking 100,000 revoked sessions, next to one tracking none.
 * `bun bench/verifier.ts` runs it alone; `bun run bench` runs it as its "verifier" section.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { connect } from "nats";
import { AccessTokens } from "../server/core/access-tokens";
import type { SessionRow } from "../server/core/ports";
import { ensureStream } from "../server/events/streams";
import { openCore } from "../server/open-core";
import { tempDir, testConfig } from "../test/support/core";
import { startNats } from "../test/support/nats";
import { client, startServer } from "../test/support/server";
import { waitFor } from "../test/support/wait";
import { createVerifier, type Verifier } from "../verifier/index.ts";
import { residentMemory } from "./memory";
import { removeAtExit, removeNow } from "./processes";
import { percentile } from "./stats";

const int = (name: string, fallback: number) => Number(process.env[name] || fallback);
const COLD_TOKENS = int("BENCH_VERIFIER_TOKENS", 20_000);
const WARM_TOKENS = 1_000;
const ROUND_SECONDS = 1;
const ROUNDS = 5;
/** Verifications in flight at once (a service handles many requests concurrently). */
const CONCURRENCY = 32;
const LOGOUTS = int("BENCH_VERIFIER_LOGOUTS", 600);
const REVOKED = int("BENCH_VERIFIER_REVOKED", 100_000);
const OPTIONS = { issuer: "session-service", audience: "api" };

export interface VerifierFigures {
  tokens: number;
  /** Verifications per second, best round of each. */
  coldPerSecond: number;
  joseColdPerSecond: number;
  warmPerSecond: number;
  joseWarmPerSecond: number;
  coldOfJose: number;
  warmOfJose: number;
  /** CPU µs per verification in those best rounds (all threads: WebCrypto verifies on a pool). */
  cpuMicros: { cold: number; joseCold: number; warm: number; joseWarm: number };
  propagation: { logouts: number; verifiers: number; p50Ms: number; p99Ms: number; maxMs: number };
  memory: { revoked: number; rssMiB: number; baselineRssMiB: number; bytesPerSession: number; startSeconds: number };
}

/** Access tokens signed by the server's own key (read from its store), for sessions that need not exist. */
async function mintTokens(dir: string, count: number): Promise<string[]> {
  const core = await openCore(testConfig(dir), { role: "operator" });
  try {
    const tokens = new AccessTokens(core.keys, { ...OPTIONS, ttlMs: 15 * 60_000 });
    const now = Date.now();
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const row = { sessionId: Bun.randomUUIDv7(), userId: `bench-${i}`, claims: null } as SessionRow;
      out.push((await tokens.issue(row, now)).token);
    }
    return out;
  } finally {
    await core.close();
  }
}

interface Rate {
  perSecond: number;
  /** CPU time (all threads of this process) per verification, in µs: steadier than wall time on a shared machine. */
  cpuMicros: number;
}

/** Verifications per second of `verify` over `tokens`, CONCURRENCY at a time, for about ROUND_SECONDS (cycling if asked). */
async function rate(verify: (token: string) => Promise<unknown>, tokens: string[], cycle: boolean): Promise<Rate> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const until = started + ROUND_SECONDS * 1000;
  let done = 0;
  let next = 0;
  while (performance.now() < until && (cycle || next < tokens.length)) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < CONCURRENCY; i++) batch.push(verify(tokens[next++ % tokens.length]!));
    await Promise.all(batch);
    done += batch.length;
  }
  const used = process.cpuUsage(cpu);
  return { perSecond: done / ((performance.now() - started) / 1000), cpuMicros: (used.user + used.system) / done };
}

const better = (a: Rate | null, b: Rate): Rate => (a && a.perSecond >= b.perSecond ? a : b);

async function throughput(verifier: Verifier, jwksUrl: string, dir: string) {
  const jwks = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as JSONWebKeySet);
  const jose = (token: string) =>
    jwtVerify(token, jwks, {
      ...OPTIONS,
      algorithms: ["EdDSA", "ES256", "RS256"],
      typ: "at+jwt",
      requiredClaims: ["sub", "sid", "iss", "aud", "iat", "exp", "jti"],
      clockTolerance: 5,
    });
  const mine = (token: string) => verifier.verify(token);
  // Fresh tokens for every cold round: the verifier never sees one twice (jose remembers nothing,
  // so it gets the same ones; who goes first alternates).
  const cold = await mintTokens(dir, COLD_TOKENS * ROUNDS + WARM_TOKENS);
  const warm = cold.splice(0, WARM_TOKENS);
  const slice = (k: number) => cold.slice(k * COLD_TOKENS, (k + 1) * COLD_TOKENS);
  await jose(warm[0]!);
  const best: Record<"jose" | "mine" | "joseWarm" | "mineWarm", Rate | null> = {
    jose: null,
    mine: null,
    joseWarm: null,
    mineWarm: null,
  };
  for (let round = 0; round < ROUNDS; round++) {
    const tokens = slice(round);
    for (const contender of round % 2 === 0 ? ["jose", "mine"] : ["mine", "jose"]) {
      if (contender === "jose") best.jose = better(best.jose, await rate(jose, tokens, false));
      else best.mine = better(best.mine, await rate(mine, tokens, false));
    }
    // The cold round pushed the warm tokens out of the memo: verified once more, untimed, as a service would have.
    for (const token of warm) await mine(token);
    best.joseWarm = better(best.joseWarm, await rate(jose, warm, true));
    best.mineWarm = better(best.mineWarm, await rate(mine, warm, true));
  }
  return best as Record<keyof typeof best, Rate>;
}

/** Yields to the event loop, so NATS deliveries are handled between polls. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function propagation(serverUrl: string, verifiers: Verifier[]): Promise<number[]> {
  const api = client(serverUrl);
  const latencies: number[] = [];
  for (let i = 0; i < LOGOUTS; i++) {
    const created = await api.create({ user_id: `propagation-${i}` });
    const pair = (await created.json()) as { access_token: string; session_id: string };
    for (const v of verifiers) await v.verify(pair.access_token);
    const res = await api.logout(pair.access_token, pair.session_id);
    if (res.status !== 204) throw new Error(`logout answered ${res.status}`);
    const answered = performance.now();
    const pending = new Set(verifiers);
    while (pending.size > 0) {
      for (const v of [...pending]) {
        const refused = await v.verify(pair.access_token).then(
          () => false,
          () => true,
        );
        if (refused) {
          latencies.push(performance.now() - answered);
          pending.delete(v);
        }
      }
      if (performance.now() - answered > 10_000) throw new Error("a logout never reached a verifier");
      await tick();
    }
  }
  return latencies;
}

/** VmRSS of a verifier process after it read `revoked` synthetic revocations from a fresh stream. */
async function memory(jwksUrl: string, revoked: number) {
  const nats = await startNats();
  try {
    const nc = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, "SESSIONS", ["session.>"]);
    const js = nc.jetstream();
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    for (let i = 0; i < revoked; i += 500) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(revoked, i + 500); j++) {
        const sessionId = Bun.randomUUIDv7();
        const event = {
          specversion: "1.0",
          id: Bun.randomUUIDv7(),
          source: "session-service",
          type: "session.revoked",
          subject: sessionId,
          time: new Date().toISOString(),
          datacontenttype: "application/json",
          data: {
            session_id: sessionId,
            user_id: `u${j}`,
            reason: "logout",
            revoked_at: new Date().toISOString(),
            access_token_expires_at: expires,
          },
        };
        batch.push(js.publish("session.revoked", JSON.stringify(event)));
      }
      await Promise.all(batch);
    }
    await nc.close();
    const proc = Bun.spawn(["bun", `${import.meta.dir}/verifier-process.ts`], {
      env: { PATH: process.env.PATH ?? "", JWKS_URL: jwksUrl, NATS_URL: nats.url },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    let line = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      line += decoder.decode(chunk, { stream: true });
      if (line.includes("\n")) break;
    }
    const status = JSON.parse(line) as { tracked: number; startMs: number };
    if (status.tracked !== revoked) throw new Error(`verifier tracks ${status.tracked}, expected ${revoked}`);
    const { rssMiB } = residentMemory(proc.pid);
    proc.stdin.end();
    await proc.exited;
    return { rssMiB, startSeconds: status.startMs / 1000 };
  } finally {
    await nats.cleanup();
  }
}

export async function benchVerifier(): Promise<VerifierFigures> {
  const dir = removeAtExit(tempDir("bench-verifier-"));
  const nats = await startNats();
  const server = await startServer(dir, { NATS_URL: nats.url, LOG_LEVEL: "warn" });
  const jwksUrl = `${server.url}/.well-known/jwks.json`;
  const verifiers: Verifier[] = [];
  try {
    // The first event creates the SESSIONS stream.
    await client(server.url).create({ user_id: "bench-warm-up" });
    const nc = await connect({ servers: nats.url });
    await waitFor("stream SESSIONS", async () => (await nc.jetstreamManager()).streams.info("SESSIONS"));
    await nc.close();
    for (let i = 0; i < 3; i++)
      verifiers.push(await createVerifier({ ...OPTIONS, jwksUrl, nats: { servers: nats.url } }));

    console.log(`    revocation propagation: ${LOGOUTS} logouts, 3 verifiers`);
    const latencies = await propagation(server.url, verifiers);
    console.log(
      `    verifications per second: ${COLD_TOKENS} fresh tokens per cold round, ${WARM_TOKENS} warm, vs bare jose`,
    );
    const rates = await throughput(verifiers[0]!, jwksUrl, dir);
    for (const v of verifiers.splice(0)) await v.close();
    console.log(`    memory: a verifier process tracking ${REVOKED} revoked sessions, and one tracking none`);
    const baseline = await memory(jwksUrl, 0);
    const loaded = await memory(jwksUrl, REVOKED);
    return {
      tokens: COLD_TOKENS,
      coldPerSecond: rates.mine.perSecond,
      joseColdPerSecond: rates.jose.perSecond,
      warmPerSecond: rates.mineWarm.perSecond,
      joseWarmPerSecond: rates.joseWarm.perSecond,
      coldOfJose: rates.mine.perSecond / rates.jose.perSecond,
      warmOfJose: rates.mineWarm.perSecond / rates.joseWarm.perSecond,
      cpuMicros: {
        cold: rates.mine.cpuMicros,
        joseCold: rates.jose.cpuMicros,
        warm: rates.mineWarm.cpuMicros,
        joseWarm: rates.joseWarm.cpuMicros,
      },
      propagation: {
        logouts: LOGOUTS,
        verifiers: 3,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
      },
      memory: {
        revoked: REVOKED,
        rssMiB: loaded.rssMiB,
        baselineRssMiB: baseline.rssMiB,
        bytesPerSession: ((loaded.rssMiB - baseline.rssMiB) * 1024 * 1024) / REVOKED,
        startSeconds: loaded.startSeconds,
      },
    };
  } finally {
    for (const v of verifiers) await v.close();
    await server.stop();
    await nats.cleanup();
    removeNow(dir);
  }
}

export function describeVerifier(f: VerifierFigures): string[] {
  const n0 = (x: number) => Math.round(x).toLocaleString("en");
  return [
    `cold (a new token each time): verifier ${n0(f.coldPerSecond)}/s, bare jose ${n0(f.joseColdPerSecond)}/s → ${(100 * f.coldOfJose).toFixed(0)} % of jose (CPU ${f.cpuMicros.cold.toFixed(0)} vs ${f.cpuMicros.joseCold.toFixed(0)} µs each)`,
    `warm (the same tokens again): verifier ${n0(f.warmPerSecond)}/s, bare jose ${n0(f.joseWarmPerSecond)}/s → ${f.warmOfJose.toFixed(1)}× jose (CPU ${f.cpuMicros.warm.toFixed(2)} vs ${f.cpuMicros.joseWarm.toFixed(0)} µs each)`,
    `logout 204 → refusal at a verifier (${f.propagation.logouts} logouts × ${f.propagation.verifiers} verifiers): p50 ${f.propagation.p50Ms.toFixed(1)} ms, p99 ${f.propagation.p99Ms.toFixed(1)} ms, max ${f.propagation.maxMs.toFixed(1)} ms`,
    `verifier process VmRSS: ${f.memory.rssMiB.toFixed(0)} MiB tracking ${n0(f.memory.revoked)} revoked sessions, ${f.memory.baselineRssMiB.toFixed(0)} MiB tracking none (${n0(f.memory.bytesPerSession)} bytes per session); it read them in ${f.memory.startSeconds.toFixed(1)} s at start`,
  ];
}

if (import.meta.main) {
  const { cleanUp, installCleanup } = await import("./processes");
  installCleanup();
  try {
    const figures = await benchVerifier();
    for (const line of describeVerifier(figures)) console.log(`  ${line}`);
  } finally {
    await cleanUp();
  }
  process.exit();
}
