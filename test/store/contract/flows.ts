/**
 * The core's refresh rules (server/core/sessions.ts, session-rules.ts) over each real store:
 * rotation, grace replay, reuse, concurrency, introspection, logout with the refresh token, and
 * DPoP-bound sessions. The stores only store and find; these prove the two together.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { AccessTokens } from "../../../server/core/access-tokens";
import type { DpopCheck, DpopProofs } from "../../../server/core/dpop-port";
import type { ServiceError } from "../../../server/core/errors";
import type { CloudEvent } from "../../../server/core/events";
import { deriveSecrets } from "../../../server/core/secrets";
import { SessionService } from "../../../server/core/sessions";
import { KeyRing } from "../../../server/core/signing-keys";
import { FakeClock } from "../../support/core";
import { type ContractContext, eventTrail, GRACE, IDLE, LIFETIME, newUser, SECOND, T0 } from "./fixtures";

const secrets = deriveSecrets(new Uint8Array(32).fill(7).map((b, i) => b + i));
const JKT = "A".repeat(43);

/** Stands in for proof parsing (unit-tested in test/unit/dpop*): the proof text is its jti, "bad" is refused. */
const fakeDpop: DpopProofs = {
  async check(proof, expectedJkt, now): Promise<DpopCheck> {
    if (proof === undefined || proof === "bad" || expectedJkt !== JKT) return { ok: false, code: "invalid_dpop_proof" };
    return { ok: true, use: { jti: proof, expiresAt: now + 60 * SECOND } };
  },
};

const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: ServiceError) => e.code,
  );

export function flowsContract(ctx: ContractContext) {
  describe("core flows", () => flows(ctx));
}

function flows(ctx: ContractContext) {
  let clock: FakeClock;
  let service: SessionService;
  let observed: CloudEvent[];

  beforeEach(async () => {
    clock = new FakeClock(T0);
    observed = [];
    const keys = new KeyRing(ctx.store.signingKeys, secrets, "EdDSA", 900_000, clock);
    await keys.open({ leases: ctx.store.leases });
    service = new SessionService({
      sessions: ctx.store.sessions,
      clock,
      tokens: new AccessTokens(keys, { issuer: "session-service", audience: "api", ttlMs: 900_000 }),
      secrets,
      settings: {
        accessTokenTtlMs: 900_000,
        sessionIdleTimeoutMs: IDLE,
        sessionMaxLifetimeMs: LIFETIME,
        refreshReuseGraceMs: GRACE,
        maxSessionsPerUser: 100,
      },
      newId: () => Bun.randomUUIDv7(),
      dpop: fakeDpop,
      observer: { refreshed: () => {}, tampered: () => {}, committed: (events) => observed.push(...events) },
    });
  });

  describe("core flows: what the observer hears", () => {
    test("the events a call committed, and none for a create refused because the user is deleted", async () => {
      const userId = newUser();
      const pair = await service.create({ userId });
      expect(observed.map((e) => [e.type, e.subject])).toEqual([["session.created", pair.session_id]]);
      expect(await service.deleteUser(userId)).toBe(1);
      observed = [];
      expect(await code(service.create({ userId }))).toBe("user_deleted");
      expect(observed).toEqual([]);
      // What it heard is what the outbox holds.
      const ids = new Set((await ctx.store.outbox.pendingEvents(10_000)).map((row) => row.id));
      await service.create({ userId: newUser() });
      expect(ids.has(observed[0]!.id)).toBe(false);
      const after = (await ctx.store.outbox.pendingEvents(10_000)).map((row) => row.id);
      expect(after).toContain(observed[0]!.id);
    });
  });

  describe("core flows: refresh", () => {
    test("rotate, replay inside the grace window with the same answer, then reuse revokes the session", async () => {
      const first = await service.create({ userId: newUser() });
      clock.advance(SECOND);
      const second = await service.refresh({ refreshToken: first.refresh_token });
      expect(second.session_id).toBe(first.session_id);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      clock.advance(GRACE);
      const retry = await service.refresh({ refreshToken: first.refresh_token });
      expect(retry.refresh_token).toBe(second.refresh_token);
      clock.advance(1);
      expect(await code(service.refresh({ refreshToken: first.refresh_token }))).toBe("invalid_grant");
      expect(await code(service.refresh({ refreshToken: second.refresh_token }))).toBe("invalid_grant");
      expect(await ctx.store.sessions.findSession(first.session_id)).toMatchObject({
        revokeReason: "refresh_token_reuse",
      });
      expect(await eventTrail(ctx.store, first.session_id)).toEqual(["created", "revoked:refresh_token_reuse"]);
    });

    test("a grandparent token is reuse even inside the window", async () => {
      const a = await service.create({ userId: newUser() });
      const b = await service.refresh({ refreshToken: a.refresh_token });
      await service.refresh({ refreshToken: b.refresh_token });
      expect(await code(service.refresh({ refreshToken: a.refresh_token }))).toBe("invalid_grant");
      expect((await ctx.store.sessions.findSession(a.session_id))!.revokeReason).toBe("refresh_token_reuse");
    });

    test("20 concurrent refreshes with one token: all answered with one refresh token, one rotation", async () => {
      const pair = await service.create({ userId: newUser() });
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => service.refresh({ refreshToken: pair.refresh_token })),
      );
      expect(new Set(answers.map((a) => a.refresh_token)).size).toBe(1);
      expect((await ctx.store.sessions.findSession(pair.session_id))!.rotationCount).toBe(1);
    });

    test("garbled, forged and unknown tokens are invalid_grant without changing anything", async () => {
      const pair = await service.create({ userId: newUser() });
      const flipped =
        pair.refresh_token.slice(0, -2) + (pair.refresh_token.at(-2) === "A" ? "B" : "A") + pair.refresh_token.at(-1);
      for (const token of ["", "x", flipped, pair.refresh_token.slice(1)]) {
        expect(await code(service.refresh({ refreshToken: token }))).toBe("invalid_grant");
      }
      expect((await ctx.store.sessions.findSession(pair.session_id))!.rotationCount).toBe(0);
    });

    test("an expired session's token is invalid_grant and stays unrevoked", async () => {
      const pair = await service.create({ userId: newUser() });
      clock.advance(IDLE);
      expect(await code(service.refresh({ refreshToken: pair.refresh_token }))).toBe("invalid_grant");
      expect((await ctx.store.sessions.findSession(pair.session_id))!.revokedAt).toBeNull();
    });
  });

  describe("core flows: validate and logout with the refresh token", () => {
    test("validate: only the current token of an active session is active", async () => {
      const a = await service.create({ userId: newUser() });
      const b = await service.refresh({ refreshToken: a.refresh_token });
      expect(await service.validate(b.refresh_token)).toMatchObject({ active: true, session_id: a.session_id });
      expect(await service.validate(a.refresh_token)).toEqual({ active: false });
      expect(await service.validate("garbage")).toEqual({ active: false });
    });

    test("current and in-grace tokens log out; an older token is reuse; unknown changes nothing", async () => {
      const a = await service.create({ userId: newUser() });
      await service.revokeByRefreshToken(a.refresh_token);
      expect((await ctx.store.sessions.findSession(a.session_id))!.revokeReason).toBe("logout");

      const b = await service.create({ userId: newUser() });
      await service.refresh({ refreshToken: b.refresh_token });
      await service.revokeByRefreshToken(b.refresh_token); // the previous token, inside the window
      expect((await ctx.store.sessions.findSession(b.session_id))!.revokeReason).toBe("logout");

      const c = await service.create({ userId: newUser() });
      await service.refresh({ refreshToken: c.refresh_token });
      clock.advance(GRACE + 1);
      await service.revokeByRefreshToken(c.refresh_token);
      expect((await ctx.store.sessions.findSession(c.session_id))!.revokeReason).toBe("refresh_token_reuse");
      await service.revokeByRefreshToken("garbage");
    });
  });

  describe("core flows: DPoP-bound sessions", () => {
    test("a refresh needs a good proof; a refused one changes nothing; a jti is used once", async () => {
      const pair = await service.create({ userId: newUser(), dpopJkt: JKT });
      expect(pair.refresh_token_bound).toBe(true);
      const before = await ctx.store.sessions.findSession(pair.session_id);
      expect(await code(service.refresh({ refreshToken: pair.refresh_token }))).toBe("invalid_dpop_proof");
      expect(await code(service.refresh({ refreshToken: pair.refresh_token, dpopProof: "bad" }))).toBe(
        "invalid_dpop_proof",
      );
      expect(await ctx.store.sessions.findSession(pair.session_id)).toEqual(before);
      const next = await service.refresh({ refreshToken: pair.refresh_token, dpopProof: "p1" });
      // A replayed proof is refused even inside the grace window; a fresh one replays.
      expect(await code(service.refresh({ refreshToken: pair.refresh_token, dpopProof: "p1" }))).toBe(
        "invalid_dpop_proof",
      );
      const retry = await service.refresh({ refreshToken: pair.refresh_token, dpopProof: "p2" });
      expect(retry.refresh_token).toBe(next.refresh_token);
      expect(await service.validate(next.refresh_token)).toMatchObject({ active: true, bound: true });
    });

    test("an older token without a proof revokes nothing; with a proof it is reuse", async () => {
      const pair = await service.create({ userId: newUser(), dpopJkt: JKT });
      await service.refresh({ refreshToken: pair.refresh_token, dpopProof: "q1" });
      clock.advance(GRACE + 1);
      expect(await code(service.refresh({ refreshToken: pair.refresh_token }))).toBe("invalid_dpop_proof");
      expect((await ctx.store.sessions.findSession(pair.session_id))!.revokedAt).toBeNull();
      expect(await code(service.refresh({ refreshToken: pair.refresh_token, dpopProof: "q2" }))).toBe("invalid_grant");
      expect((await ctx.store.sessions.findSession(pair.session_id))!.revokeReason).toBe("refresh_token_reuse");
    });
  });
}
