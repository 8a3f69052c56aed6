/** rotate: compare-and-swap, concurrent rotation, grace replay, reuse revocation, idle and absolute expiry. */
import { describe, expect, test } from "bun:test";
import type { SessionRow } from "../../../server/core/ports";
import {
  ACCESS_TTL,
  type ContractContext,
  create,
  DAY,
  events,
  eventTrail,
  GRACE,
  IDLE,
  LIFETIME,
  newUser,
  rotateInput,
  rotateOk,
  SECOND,
  T0,
} from "./fixtures";

export function rotateContract(ctx: ContractContext) {
  describe("rotate: compare-and-swap", () => {
    test("the presented current token is swapped for the new one, the idle deadline moves", async () => {
      const row = await create(ctx.store, newUser());
      const now = T0 + DAY;
      const input = rotateInput(row.refreshTokenHash, now, { userAgent: "agent/2.0" });
      const result = await ctx.store.rotate(input, events);
      expect(result.kind).toBe("rotated");
      const rotated = (result as { row: SessionRow }).row;
      expect(rotated).toEqual({
        ...row,
        refreshTokenHash: input.newHash,
        previousTokenHash: row.refreshTokenHash,
        rotationNonce: input.nonce,
        rotatedAt: now,
        rotationCount: 1,
        userAgent: "agent/2.0",
        lastUsedAt: now,
        expiresAt: now + IDLE,
        accessExpiresAt: now + ACCESS_TTL,
      });
      expect(await ctx.store.findSession(row.sessionId)).toEqual(rotated);
      expect(await ctx.store.findActiveByTokenHash(input.newHash, now)).toEqual(rotated);
      expect(await ctx.store.findActiveByTokenHash(row.refreshTokenHash, now)).toBeNull();
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created"]);
    });

    test("user agent and ip are replaced only when given; access expiry never moves back", async () => {
      const row = await create(ctx.store, newUser());
      const r1 = await ctx.store.rotate(
        rotateInput(row.refreshTokenHash, T0 + 1, { ip: "2001:db8::1", accessExpiresAt: T0 + 5 }),
        events,
      );
      expect((r1 as { row: SessionRow }).row).toMatchObject({
        userAgent: row.userAgent,
        ip: "2001:db8::1",
        accessExpiresAt: row.accessExpiresAt,
      });
    });

    test("unknown tokens are invalid and change nothing", async () => {
      const row = await create(ctx.store, newUser());
      expect(await ctx.store.rotate(rotateInput("hash-unknown", T0 + 1), events)).toEqual({ kind: "invalid" });
      expect(await ctx.store.findSession(row.sessionId)).toEqual(row);
    });

    test("concurrent rotations with one token: exactly one rotates, all others replay its answer", async () => {
      const row = await create(ctx.store, newUser());
      const now = T0 + SECOND;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => ctx.store.rotate(rotateInput(row.refreshTokenHash, now), events)),
      );
      const kinds = results.map((r) => r.kind);
      expect(kinds.filter((k) => k === "rotated")).toHaveLength(1);
      expect(kinds.filter((k) => k === "grace_replay")).toHaveLength(19);
      const rows = results.map((r) => (r as { row: SessionRow }).row);
      const winner = rows[kinds.indexOf("rotated")]!;
      for (const r of rows)
        expect([r.refreshTokenHash, r.rotationNonce, r.rotationCount]).toEqual([
          winner.refreshTokenHash,
          winner.rotationNonce,
          1,
        ]);
      expect((await ctx.store.findSession(row.sessionId))!.rotationCount).toBe(1);
    });
  });

  describe("rotate: grace replay", () => {
    test("the token rotated most recently, within the window, replays the current token without rotating", async () => {
      const row = await create(ctx.store, newUser());
      const rotated = await rotateOk(ctx.store, row.refreshTokenHash, T0 + SECOND);
      const at = T0 + SECOND + GRACE; // the window's last millisecond is still in
      const replay = await ctx.store.rotate(
        rotateInput(row.refreshTokenHash, at, { accessExpiresAt: at + ACCESS_TTL, ip: "198.51.100.7" }),
        events,
      );
      expect(replay).toEqual({
        kind: "grace_replay",
        row: { ...rotated, accessExpiresAt: at + ACCESS_TTL, ip: "198.51.100.7" },
      });
      expect(await ctx.store.findActiveByTokenHash(rotated.refreshTokenHash, at)).toEqual(
        (replay as { row: SessionRow }).row,
      );
    });

    test("just after the window the same token is reuse", async () => {
      const row = await create(ctx.store, newUser());
      await rotateOk(ctx.store, row.refreshTokenHash, T0 + SECOND);
      const result = await ctx.store.rotate(rotateInput(row.refreshTokenHash, T0 + SECOND + GRACE + 1), events);
      expect(result.kind).toBe("reuse_revoked");
    });
  });

  describe("rotate: reuse revocation", () => {
    test("the previous token after the window revokes the session (refresh_token_reuse); it stays revoked", async () => {
      const user = newUser();
      const other = await create(ctx.store, user);
      const row = await create(ctx.store, user, T0 + 1);
      const current = await rotateOk(ctx.store, row.refreshTokenHash, T0 + 2);
      const now = T0 + 2 + GRACE + 1;
      const result = await ctx.store.rotate(rotateInput(row.refreshTokenHash, now), events);
      expect(result).toEqual({
        kind: "reuse_revoked",
        row: { ...current, revokedAt: now, revokeReason: "refresh_token_reuse" },
      });
      expect(await ctx.store.findSession(row.sessionId)).toMatchObject({
        revokedAt: now,
        revokeReason: "refresh_token_reuse",
      });
      expect(await ctx.store.rotate(rotateInput(current.refreshTokenHash, now + 1), events)).toEqual({
        kind: "invalid",
      });
      expect(await ctx.store.findActiveSession(other.sessionId, now)).not.toBeNull();
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created", "revoked:refresh_token_reuse"]);
    });

    test("a grandparent token is reuse even inside the window", async () => {
      const row = await create(ctx.store, newUser());
      const child = await rotateOk(ctx.store, row.refreshTokenHash, T0 + 1);
      await rotateOk(ctx.store, child.refreshTokenHash, T0 + 2);
      const result = await ctx.store.rotate(rotateInput(row.refreshTokenHash, T0 + 3), events);
      expect(result.kind).toBe("reuse_revoked");
      expect((result as { row: SessionRow }).row).toMatchObject({
        revokedAt: T0 + 3,
        revokeReason: "refresh_token_reuse",
      });
    });

    test("reuse on a session that already ended is invalid and emits nothing", async () => {
      const row = await create(ctx.store, newUser());
      await rotateOk(ctx.store, row.refreshTokenHash, T0 + 1);
      await ctx.store.revokeSession(row.sessionId, null, "admin", T0 + 2, events);
      expect(await ctx.store.rotate(rotateInput(row.refreshTokenHash, T0 + DAY), events)).toEqual({ kind: "invalid" });
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created", "revoked:admin"]);
    });
  });

  describe("rotate: expiry", () => {
    test("idle: the session ends at last use + idle timeout; a rotation moves that deadline", async () => {
      const a = await create(ctx.store, newUser());
      expect(await ctx.store.rotate(rotateInput(a.refreshTokenHash, T0 + IDLE), events)).toEqual({ kind: "expired" });
      expect(await ctx.store.findActiveByTokenHash(a.refreshTokenHash, T0 + IDLE)).toBeNull();
      expect(await ctx.store.findActiveSession(a.sessionId, T0 + IDLE)).toBeNull();
      expect((await ctx.store.findSession(a.sessionId))!.revokedAt).toBeNull();

      const b = await create(ctx.store, newUser());
      const rotated = await rotateOk(ctx.store, b.refreshTokenHash, T0 + IDLE - 1);
      expect(rotated.expiresAt).toBe(T0 + 2 * IDLE - 1);
      expect(await ctx.store.findActiveByTokenHash(rotated.refreshTokenHash, T0 + IDLE + DAY)).not.toBeNull();
    });

    test("absolute: rotations never move the session past created_at + max lifetime", async () => {
      const row = await create(ctx.store, newUser());
      let current = await rotateOk(ctx.store, row.refreshTokenHash, T0 + 10 * DAY);
      expect(current.expiresAt).toBe(T0 + 24 * DAY);
      current = await rotateOk(ctx.store, current.refreshTokenHash, T0 + 20 * DAY);
      expect(current.expiresAt).toBe(T0 + LIFETIME);
      current = await rotateOk(ctx.store, current.refreshTokenHash, T0 + LIFETIME - 1);
      expect([current.expiresAt, current.absoluteExpiresAt]).toEqual([T0 + LIFETIME, T0 + LIFETIME]);
      expect(await ctx.store.rotate(rotateInput(current.refreshTokenHash, T0 + LIFETIME), events)).toEqual({
        kind: "expired",
      });
      expect((await ctx.store.findSession(row.sessionId))!.rotationCount).toBe(3);
    });

    test("expired only for the current token of an unrevoked session; revoked or older tokens stay invalid", async () => {
      const row = await create(ctx.store, newUser());
      await ctx.store.revokeSession(row.sessionId, null, "logout", T0 + 1, events);
      expect(await ctx.store.rotate(rotateInput(row.refreshTokenHash, T0 + IDLE + 1), events)).toEqual({
        kind: "invalid",
      });

      const other = await create(ctx.store, newUser());
      await rotateOk(ctx.store, other.refreshTokenHash, T0 + 1);
      expect(await ctx.store.rotate(rotateInput(other.refreshTokenHash, T0 + 1 + IDLE), events)).toEqual({
        kind: "invalid",
      });
      expect(await eventTrail(ctx.store, other.sessionId)).toEqual(["created"]);
    });

    test("a grace replay on an ended session is invalid", async () => {
      const row = await create(ctx.store, newUser());
      await rotateOk(ctx.store, row.refreshTokenHash, T0 + 1);
      await ctx.store.revokeSession(row.sessionId, null, "logout", T0 + 2, events);
      expect(await ctx.store.rotate(rotateInput(row.refreshTokenHash, T0 + 3), events)).toEqual({ kind: "invalid" });
    });
  });
}
