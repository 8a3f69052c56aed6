/**
 * The three sides of the peer comparison (bench/peer.ts), each a server in its own process on
 * 127.0.0.1 that can seed what a run needs and check afterwards what the run did:
 *   ours         this service (bench/server-run.ts) on SQLite synchronous=FULL
 *   peer-sqlite  oidc-provider (bench/peer/) with the durable bun:sqlite adapter
 *   peer-memory  oidc-provider with its in-memory adapter
 * A check reads the stores back, not the answers: after refresh every spent token must be rotated
 * (ours: the session's rotation count; the peer: the refresh token consumed, a successor saved),
 * after revoke every spent token must be revoked and no longer validate or introspect as active,
 * and validate/introspection must leave every token as it was.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { SERVICE_KEY, tempDir } from "../test/support/core";
import { freePort, openDbReadOnly, type RunningServer } from "../test/support/server";
import type { LoadResult } from "./load";
import { removeAtExit, removeNow, spawnUntilReady } from "./processes";
import { startBenchServer } from "./server-run";
import { settings } from "./settings";
import { type StoreTarget, sqliteTarget } from "./stores";
import { WorkloadContext } from "./workloads";

export type PeerWorkload = "refresh" | "validate" | "revoke";
export type SideKey = "ours" | "peer-sqlite" | "peer-memory";

/** Tokens of the validate / introspection pool (read-only workloads may pick one many times). */
const VALIDATE_POOL = 10_000;
/** Tokens per wrk thread checked by a live request after a revoke run: each must now be refused. */
const REVOKED_SAMPLE = 5;

export interface Seeded {
  file: string;
  /** What the side needs to find these tokens again in its store. */
  tag: string;
}

export interface Side {
  key: SideKey;
  label: string;
  url: string;
  seed(workload: PeerWorkload, count: number): Promise<Seeded>;
  /** wrk arguments for bench/lua/compare.lua after the thread count. */
  args(workload: PeerWorkload, seeded: Seeded): string[];
  /** Called right before a measured run (after its warm-up): checks count from here. */
  mark(): Promise<void>;
  /** Throws when the store does not show what the answers claim; returns what it found. */
  check(workload: PeerWorkload, seeded: Seeded, result: LoadResult): Promise<string>;
  stop(): Promise<void>;
}

/** The spent tokens a check expects: every answered request, at most the ones still in flight more. */
function expectChanged(what: string, changed: number, result: LoadResult): void {
  const answered = result.requests - result.errors;
  const most = result.requests + settings.connections;
  if (answered <= 0 || changed < answered || changed > most) {
    throw new Error(
      `${what}: ${changed} tokens changed in the store for ${answered} successful answers (${result.requests} requests, ${result.errors} errors) — the run did not do what it measured`,
    );
  }
}

/**
 * Early tokens of each wrk thread's share, certainly sent when the run answered more requests than
 * that. Not the very first line of a share: wrk calls request() once before the run to check the
 * script (script_verify_request), and the token that call took is never sent.
 */
function firstSpent(file: string, count: number): string[] {
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  return lines.slice(settings.wrkThreads, settings.wrkThreads * (1 + count));
}

export async function oursSide(): Promise<Side> {
  const target: StoreTarget = sqliteTarget("FULL");
  await (await target.open()).close();
  const server: RunningServer = await startBenchServer(target);
  const ctx = new WorkloadContext(target);
  let seeds = 0;
  const counted = (where: string, prefix: string): number => {
    const db = openDbReadOnly(target.dir);
    try {
      return (
        db.query(`select count(*) as n from sessions where user_id like ? and ${where}`).get(`${prefix}-%`) as {
          n: number;
        }
      ).n;
    } finally {
      db.close();
    }
  };
  const validate = async (token: string) => {
    const response = await fetch(`${server.url}/session/validate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${SERVICE_KEY}` },
      body: JSON.stringify({ refresh_token: token }),
    });
    return ((await response.json()) as { active?: boolean }).active === true;
  };
  return {
    key: "ours",
    label: "this service (SQLite FULL)",
    url: server.url,
    async seed(workload, count) {
      if (workload === "validate") {
        return { file: await ctx.pool("peer-validate", () => ctx.freshTokens("pv", VALIDATE_POOL)), tag: "pv" };
      }
      const tag = `p${workload[0]}${seeds++}`;
      return { file: await ctx.freshTokens(tag, count), tag };
    },
    mark: async () => {},
    args(workload, seeded) {
      if (workload === "validate") return ["ours-validate", seeded.file, SERVICE_KEY];
      return [`ours-${workload}`, seeded.file, "-"];
    },
    async check(workload, seeded, result) {
      if (workload === "validate") {
        const changed = counted("(rotation_count > 0 or revoked_at is not null)", seeded.tag);
        if (changed !== 0) throw new Error(`ours validate: ${changed} pool sessions changed by a read-only workload`);
        return `pool of ${VALIDATE_POOL} unchanged`;
      }
      if (workload === "refresh") {
        const rotated = counted("rotation_count = 1 and revoked_at is null", seeded.tag);
        expectChanged("ours refresh", rotated, result);
        return `${rotated} sessions rotated once`;
      }
      const revoked = counted("revoked_at is not null and revoke_reason = 'logout'", seeded.tag);
      expectChanged("ours revoke", revoked, result);
      for (const token of firstSpent(seeded.file, REVOKED_SAMPLE)) {
        if (await validate(token)) throw new Error("ours revoke: a revoked token still validates as active");
      }
      return `${revoked} sessions revoked; the first spent tokens validate as inactive`;
    },
    async stop() {
      await server.stop();
      await target.drop();
    },
  };
}

const PEER_SERVER = join(import.meta.dir, "peer", "peer-server.ts");

interface Tally {
  tokens: number;
  current: number;
  consumed: number;
  gone: number;
}

export async function peerSide(adapter: "sqlite" | "memory"): Promise<Side> {
  const dir = removeAtExit(tempDir(`bench-peer-${adapter}-`));
  const [port, controlPort] = [await freePort(), await freePort()];
  const clientSecret = randomBytes(32).toString("base64url");
  const proc = await spawnUntilReady(["bun", PEER_SERVER], "peer ready", {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    PORT: String(port),
    CONTROL_PORT: String(controlPort),
    PEER_ADAPTER: adapter,
    PEER_DB: join(dir, "oidc-provider.db"),
    PEER_CLIENT_SECRET: clientSecret,
  });
  const url = `http://127.0.0.1:${port}`;
  const control = `http://127.0.0.1:${controlPort}`;
  const basic = Buffer.from(`bench-client:${clientSecret}`).toString("base64");
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${control}${path}`, body ? { method: "POST", body: JSON.stringify(body) } : {});
    if (!response.ok) throw new Error(`peer control ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const form = (path: string, fields: Record<string, string>) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
      body: new URLSearchParams(fields),
    });
  const introspectsActive = async (token: string) => {
    const response = await form("/token/introspection", { token, token_type_hint: "refresh_token" });
    return ((await response.json()) as { active?: boolean }).active === true;
  };
  let seeds = 0;
  let validatePool: Promise<Seeded> | null = null;
  const seedFile = async (tag: string, count: number): Promise<Seeded> => {
    const file = join(dir, `${tag}.txt`);
    await call("/seed", { count, file, prefix: tag });
    return { file, tag };
  };
  const side: Side = {
    key: adapter === "sqlite" ? "peer-sqlite" : "peer-memory",
    label: `oidc-provider (${adapter === "sqlite" ? "SQLite FULL + group commit" : "memory"})`,
    url,
    seed(workload, count) {
      if (workload === "validate") {
        validatePool ??= seedFile("pv", VALIDATE_POOL);
        return validatePool;
      }
      return seedFile(`p${workload[0]}${seeds++}`, count);
    },
    async mark() {
      counters = await call<Record<string, number>>("/counters");
    },
    args: (workload, seeded) => [workload === "validate" ? "peer-introspect" : `peer-${workload}`, seeded.file, basic],
    async check(workload, seeded, result) {
      const after = await call<Record<string, number>>("/counters");
      const delta = (name: string) => (after[name] ?? 0) - (counters[name] ?? 0);
      const failures = ["server_error", "grant.error", "introspection.error", "revocation.error"].filter(
        (name) => delta(name) > 0 && !(workload === "refresh" && name === "grant.error" && result.exhausted > 0),
      );
      if (failures.length > 0)
        throw new Error(`${side.label} ${workload}: the provider reported ${failures.join(", ")}`);
      const tally = await call<Tally>("/check", { file: seeded.file });
      if (workload === "validate") {
        if (tally.current !== tally.tokens) throw new Error(`${side.label} introspection changed pool tokens`);
        return `pool of ${tally.tokens} unchanged`;
      }
      if (workload === "refresh") {
        if (tally.gone !== 0) throw new Error(`${side.label} refresh: ${tally.gone} grants revoked as reuse`);
        expectChanged(`${side.label} refresh (consumed)`, tally.consumed, result);
        expectChanged(`${side.label} refresh (successors saved)`, delta("refreshTokenRotated"), result);
        return `${tally.consumed} refresh tokens consumed, ${delta("refreshTokenRotated")} successors saved, ${delta("accessTokenIssued")} JWT access tokens`;
      }
      expectChanged(`${side.label} revoke`, tally.gone, result);
      for (const token of firstSpent(seeded.file, REVOKED_SAMPLE)) {
        if (await introspectsActive(token))
          throw new Error(`${side.label} revoke: a revoked token still introspects active`);
      }
      return `${tally.gone} refresh tokens and their grants gone (${delta("grantRevoked")} grants revoked); the first spent tokens introspect as inactive`;
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      removeNow(dir);
    },
  };
  let counters: Record<string, number> = {};
  await probe(side, seedFile, form, introspectsActive);
  return side;
}

/**
 * One refresh, replay, introspection and revocation by hand before any load, so that a wrong
 * configuration stops the run instead of being measured: the access token must be an `at+jwt`
 * signed EdDSA that verifies with the provider's published key, the refresh token must rotate,
 * and replaying the spent token must fail.
 */
async function probe(
  side: Side,
  seedFile: (tag: string, count: number) => Promise<Seeded>,
  form: (path: string, fields: Record<string, string>) => Promise<Response>,
  introspectsActive: (token: string) => Promise<boolean>,
): Promise<void> {
  const fail = (what: string) => {
    throw new Error(`${side.label} probe: ${what}`);
  };
  const [first, second] = readFileSync((await seedFile("probe", 2)).file, "utf8").split("\n");
  const answer = await form("/token", { grant_type: "refresh_token", refresh_token: first! });
  if (answer.status !== 200) fail(`refresh answered ${answer.status}: ${await answer.text()}`);
  const body = (await answer.json()) as { access_token: string; refresh_token?: string };
  const header = decodeProtectedHeader(body.access_token);
  if (header.alg !== "EdDSA" || header.typ !== "at+jwt") fail(`access token header ${JSON.stringify(header)}`);
  const jwks = (await (await fetch(`${side.url}/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
  const key = jwks.keys.find((k) => k.kid === header.kid);
  if (!key) fail("the access token's kid is not in /jwks");
  await jwtVerify(body.access_token, await importJWK(key!, "EdDSA"), { typ: "at+jwt" });
  if (!body.refresh_token || body.refresh_token === first) fail("the refresh token did not rotate");
  const replay = await form("/token", { grant_type: "refresh_token", refresh_token: first! });
  if (replay.status !== 400) fail(`replaying a rotated refresh token answered ${replay.status}`);
  if (!(await introspectsActive(second!))) fail("a fresh refresh token does not introspect as active");
  if ((await form("/token/revocation", { token: second!, token_type_hint: "refresh_token" })).status !== 200)
    fail("revocation did not answer 200");
  if (await introspectsActive(second!)) fail("a revoked refresh token still introspects as active");
}
