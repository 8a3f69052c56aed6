/**
 * The workloads of issue 7: what each seeds before it runs, which wrk script drives it, and its
 * composite ceiling. A request's pieces run one after another on the server's single JavaScript
 * thread, so their costs (1/rate) add up: ceiling = 1 / Σ (count of a piece / that piece's rate).
 *
 *   validate  http + 2 hash (service key, token) — the target compares it with the HTTP floor too
 *   me        http + JWT verify — likewise compared with the HTTP floor
 *   create    http + 2 hash (service key, token) + JWT sign + 1 store transaction (CAS rate)
 *   refresh   http + 3 hash (presented token, child derivation, child) + JWT sign + CAS
 *   refresh-bound  refresh of a DPoP-bound session with a fresh proof: refresh + a JWT verify (the proof)
 *   logout    http + 1 hash + 1 store transaction (CAS rate)     (POST /session/revoke)
 *   mix       per 11 requests: 6 validate + 3 refresh + 1 create + 1 logout
 *
 * Store reads (validate, me) and the logging, metrics and routing of the service are not pieces:
 * they are what the ratio exposes. create and logout use the rotation as their transaction's cost.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_KEY } from "../test/support/core";
import { signAccessTokens } from "./access-minter";
import { dpopClientKeys, refreshProof } from "./dpop-proofs";
import { seedSessions } from "./seed";
import { settings } from "./settings";
import type { StoreTarget } from "./stores";

export type WorkloadName = "validate" | "me" | "refresh" | "refresh-bound" | "create" | "logout" | "mix";

export interface Ceilings {
  /** Requests/s of the trivial Elysia route. */
  http: number;
  hash: number;
  sign: number;
  verify: number;
  /** Compare-and-swap transactions/s of the store under test. */
  cas: number;
}

export interface Workload {
  name: WorkloadName;
  /** Seconds of the single server thread one request needs at best. */
  cost(c: Ceilings): number;
  /**
   * Seeds what `requests` requests need (distinct tokens are never reused) and returns the wrk
   * script's arguments. Pools that may be reused (validate, me) are seeded once per server.
   */
  prepare(ctx: WorkloadContext, requests: number): Promise<{ script: string; args: string[] }>;
}

/** One running server on one store; pools are cached per context. */
export class WorkloadContext {
  private pools = new Map<string, Promise<string>>();
  private files = 0;

  constructor(readonly target: StoreTarget) {}

  /** Writes lines into a new file in the target's folder; returns its path. */
  file(lines: string[]): string {
    const path = join(this.target.dir, `wrk-${this.files++}.txt`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  }

  /** `count` fresh sessions (one user each); the file of their refresh tokens. */
  async freshTokens(prefix: string, count: number): Promise<string> {
    const writer = this.target.writer();
    try {
      const seeded = await seedSessions(writer, count, (i) => `${prefix}-${i}`, true);
      return this.file(seeded.map((s) => s.refreshToken));
    } finally {
      await writer.close();
    }
  }

  /**
   * `count` fresh sessions bound to DPoP keys; the file of "token proof" lines, each proof made
   * now for that session's one refresh (dpop-proofs.ts).
   */
  async freshBoundTokens(prefix: string, count: number): Promise<string> {
    const keys = await dpopClientKeys(settings.jwtAlg);
    const writer = this.target.writer();
    try {
      const keyOf = (i: number) => keys[i % keys.length]!;
      const seeded = await seedSessions(
        writer,
        count,
        (i) => `${prefix}-${i}`,
        true,
        (i) => keyOf(i).jkt,
      );
      const now = Date.now();
      return this.file(seeded.map((s, i) => `${s.refreshToken} ${refreshProof(keyOf(i), now)}`));
    } finally {
      await writer.close();
    }
  }

  pool(name: string, build: () => Promise<string>): Promise<string> {
    if (!this.pools.has(name)) this.pools.set(name, build());
    return this.pools.get(name)!;
  }

  /** A run label that keeps the user ids of create unique across runs on one store. */
  label(name: string): string {
    return `${name}-${this.files}-${Date.now().toString(36)}`;
  }
}

const VALIDATE_POOL = 10_000;
const ME_USERS = 2_000;
const SESSIONS_PER_ME_USER = 5;

const validatePool = (ctx: WorkloadContext) => ctx.pool("validate", () => ctx.freshTokens("v", VALIDATE_POOL));

/** ME_USERS users with 5 live sessions each; the file of one access token per user. */
const mePool = (ctx: WorkloadContext) =>
  ctx.pool("me", async () => {
    const writer = ctx.target.writer();
    try {
      const seeded = await seedSessions(
        writer,
        ME_USERS * SESSIONS_PER_ME_USER,
        (i) => `me-${Math.floor(i / SESSIONS_PER_ME_USER)}`,
        true,
      );
      const current = seeded.filter((_, i) => i % SESSIONS_PER_ME_USER === 0).map((s) => s.row);
      return ctx.file(await signAccessTokens(ctx.target, current));
    } finally {
      await writer.close();
    }
  });

const http = (c: Ceilings) => 1 / c.http;
const validateCost = (c: Ceilings) => http(c) + 2 / c.hash;
const refreshCost = (c: Ceilings) => http(c) + 3 / c.hash + 1 / c.sign + 1 / c.cas;
const createCost = (c: Ceilings) => http(c) + 2 / c.hash + 1 / c.sign + 1 / c.cas;
const logoutCost = (c: Ceilings) => http(c) + 1 / c.hash + 1 / c.cas;

export const WORKLOADS: Workload[] = [
  {
    name: "validate",
    cost: validateCost,
    prepare: async (ctx) => ({ script: "validate", args: [SERVICE_KEY, await validatePool(ctx)] }),
  },
  {
    name: "me",
    cost: (c) => http(c) + 1 / c.verify,
    prepare: async (ctx) => ({ script: "me", args: [await mePool(ctx)] }),
  },
  {
    name: "refresh",
    cost: refreshCost,
    prepare: async (ctx, requests) => ({
      script: "spend-token",
      args: [await ctx.freshTokens("r", requests), "/session/refresh"],
    }),
  },
  {
    name: "refresh-bound",
    cost: (c) => refreshCost(c) + 1 / c.verify,
    prepare: async (ctx, requests) => ({
      script: "spend-bound",
      args: [await ctx.freshBoundTokens("b", requests)],
    }),
  },
  {
    name: "create",
    cost: createCost,
    prepare: async (ctx) => ({ script: "create", args: [SERVICE_KEY, ctx.label("c")] }),
  },
  {
    name: "logout",
    cost: logoutCost,
    prepare: async (ctx, requests) => ({
      script: "spend-token",
      args: [await ctx.freshTokens("l", requests), "/session/revoke"],
    }),
  },
  {
    name: "mix",
    cost: (c) => (6 * validateCost(c) + 3 * refreshCost(c) + createCost(c) + logoutCost(c)) / 11,
    prepare: async (ctx, requests) => ({
      script: "mix",
      // 3 of 11 requests refresh; a little margin for the randomness of the draw.
      args: [
        SERVICE_KEY,
        await validatePool(ctx),
        await ctx.freshTokens("m", Math.ceil(requests * 0.3)),
        ctx.label("m"),
      ],
    }),
  },
];

export const workload = (name: WorkloadName) => WORKLOADS.find((w) => w.name === name)!;
