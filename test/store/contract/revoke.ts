/** Revocations: one session, a user's sessions (keeping one), by refresh token. */
import { describe, expect, test } from "bun:test";
import {
  type ContractContext,
  create,
  DAY,
  events,
  eventTrail,
  GRACE,
  IDLE,
  newUser,
  pending,
  rotateOk,
  T0,
} from "./fixtures";

export function revokeContract(ctx: ContractContext) {
  describe("revokeSession", () => {
    test("revokes an active session of its owner once; a repeat changes and emits nothing", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      const first = await ctx.store.revokeSession(row.sessionId, user, "logout", T0 + 5, events);
      expect(first).toEqual({ row: { ...row, revokedAt: T0 + 5, revokeReason: "logout" }, changed: true });
      expect(await ctx.store.findActiveSession(row.sessionId, T0 + 5)).toBeNull();
      expect(await ctx.store.findActiveByTokenHash(row.refreshTokenHash, T0 + 5)).toBeNull();
      const again = await ctx.store.revokeSession(row.sessionId, user, "logout", T0 + 9, events);
      expect(again).toEqual({ row: { ...row, revokedAt: T0 + 5, revokeReason: "logout" }, changed: false });
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created", "revoked:logout"]);
    });

    test("another user's or an unknown session is null and untouched; a null owner (admin) may revoke any", async () => {
      const row = await create(ctx.store, newUser());
      expect(await ctx.store.revokeSession(row.sessionId, newUser(), "logout", T0 + 1, events)).toBeNull();
      expect(await ctx.store.revokeSession(Bun.randomUUIDv7(), null, "admin", T0 + 1, events)).toBeNull();
      expect(await ctx.store.findActiveSession(row.sessionId, T0 + 1)).toEqual(row);
      const admin = await ctx.store.revokeSession(row.sessionId, null, "admin", T0 + 2, events);
      expect(admin!.changed).toBe(true);
      expect(admin!.row.revokeReason).toBe("admin");
    });

    test("an expired session is returned unchanged and emits nothing", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      expect(await ctx.store.revokeSession(row.sessionId, user, "logout", T0 + IDLE, events)).toEqual({
        row,
        changed: false,
      });
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created"]);
    });
  });

  describe("revokeUserSessions", () => {
    test("revokes every active session of the user, except the one to keep; other users untouched", async () => {
      const user = newUser();
      const keep = await create(ctx.store, user, T0);
      const a = await create(ctx.store, user, T0 + 1);
      const b = await create(ctx.store, user, T0 + 2);
      const ended = await create(ctx.store, user, T0 + 3);
      await ctx.store.revokeSession(ended.sessionId, user, "logout", T0 + 4, events);
      const bystander = await create(ctx.store, newUser(), T0 + 5);

      expect(await ctx.store.revokeUserSessions(user, "logout_others", T0 + 10, events, keep.sessionId)).toBe(2);
      expect((await ctx.store.listActiveSessions(user, T0 + 10)).map((r) => r.sessionId)).toEqual([keep.sessionId]);
      for (const r of [a, b])
        expect(await ctx.store.findSession(r.sessionId)).toMatchObject({
          revokedAt: T0 + 10,
          revokeReason: "logout_others",
        });
      expect(await ctx.store.findSession(ended.sessionId)).toMatchObject({ revokedAt: T0 + 4, revokeReason: "logout" });
      expect(await ctx.store.findActiveSession(bystander.sessionId, T0 + 10)).not.toBeNull();

      expect(await ctx.store.revokeUserSessions(user, "logout_all", T0 + 11, events)).toBe(1);
      expect(await ctx.store.listActiveSessions(user, T0 + 11)).toEqual([]);
      expect(await ctx.store.revokeUserSessions(user, "logout_all", T0 + 12, events)).toBe(0);
      const reasons = (await pending(ctx.store))
        .filter((e) => e.type === "session.revoked" && e.data.user_id === user)
        .map((e) => e.data.reason);
      expect(reasons.sort()).toEqual(["logout", "logout_all", "logout_others", "logout_others"]);
    });
  });

  describe("revokeByTokenHash", () => {
    test("the current token logs out", async () => {
      const row = await create(ctx.store, newUser());
      expect(await ctx.store.revokeByTokenHash(row.refreshTokenHash, T0 + 1, GRACE, events)).toBe("logout");
      expect(await ctx.store.findSession(row.sessionId)).toMatchObject({ revokedAt: T0 + 1, revokeReason: "logout" });
      // Known but already ended: still "logout", and no second event.
      expect(await ctx.store.revokeByTokenHash(row.refreshTokenHash, T0 + 2, GRACE, events)).toBe("logout");
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created", "revoked:logout"]);
    });

    test("the previous token inside the window logs out", async () => {
      const row = await create(ctx.store, newUser());
      await rotateOk(ctx.store, row.refreshTokenHash, T0 + 1);
      expect(await ctx.store.revokeByTokenHash(row.refreshTokenHash, T0 + 1 + GRACE, GRACE, events)).toBe("logout");
      expect((await ctx.store.findSession(row.sessionId))!.revokeReason).toBe("logout");
    });

    test("an older token is reuse: refresh_token_reuse", async () => {
      const row = await create(ctx.store, newUser());
      await rotateOk(ctx.store, row.refreshTokenHash, T0 + 1);
      expect(await ctx.store.revokeByTokenHash(row.refreshTokenHash, T0 + 2 + GRACE, GRACE, events)).toBe(
        "refresh_token_reuse",
      );
      expect(await ctx.store.findSession(row.sessionId)).toMatchObject({
        revokedAt: T0 + 2 + GRACE,
        revokeReason: "refresh_token_reuse",
      });
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created", "revoked:refresh_token_reuse"]);
    });

    test("an unknown token is unknown and changes nothing", async () => {
      const row = await create(ctx.store, newUser());
      expect(await ctx.store.revokeByTokenHash("hash-unknown", T0 + DAY, GRACE, events)).toBe("unknown");
      expect(await ctx.store.findSession(row.sessionId)).toEqual(row);
    });
  });
}
