/** Revocations: one session, a user's sessions (keeping one); naming a session. */
import { describe, expect, test } from "bun:test";
import { type ContractContext, create, DAY, events, eventTrail, IDLE, liveIds, newUser, pending, T0 } from "./fixtures";

export function revokeContract(ctx: ContractContext) {
  describe("revokeSession", () => {
    test("revokes an active session of its owner once; a repeat changes and emits nothing", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      const first = await ctx.store.sessions.revokeSession(row.sessionId, user, "logout", T0 + 5, events);
      expect(first).toEqual({ row: { ...row, revokedAt: T0 + 5, revokeReason: "logout" }, changed: true });
      expect(await ctx.store.sessions.findActiveSession(row.sessionId, T0 + 5)).toBeNull();
      const again = await ctx.store.sessions.revokeSession(row.sessionId, user, "logout", T0 + 9, events);
      expect(again).toEqual({ row: { ...row, revokedAt: T0 + 5, revokeReason: "logout" }, changed: false });
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created", "revoked:logout"]);
    });

    test("another user's or an unknown session is null and untouched; a null owner (admin) may revoke any", async () => {
      const row = await create(ctx.store, newUser());
      expect(await ctx.store.sessions.revokeSession(row.sessionId, newUser(), "logout", T0 + 1, events)).toBeNull();
      expect(await ctx.store.sessions.revokeSession(Bun.randomUUIDv7(), null, "admin", T0 + 1, events)).toBeNull();
      expect(await ctx.store.sessions.findActiveSession(row.sessionId, T0 + 1)).toEqual(row);
      const admin = await ctx.store.sessions.revokeSession(row.sessionId, null, "admin", T0 + 2, events);
      expect(admin!.changed).toBe(true);
      expect(admin!.row.revokeReason).toBe("admin");
    });

    test("an expired session is returned unchanged and emits nothing", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      expect(await ctx.store.sessions.revokeSession(row.sessionId, user, "logout", T0 + IDLE, events)).toEqual({
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
      await ctx.store.sessions.revokeSession(ended.sessionId, user, "logout", T0 + 4, events);
      const bystander = await create(ctx.store, newUser(), T0 + 5);

      expect(await ctx.store.sessions.revokeUserSessions(user, "logout_others", T0 + 10, events, keep.sessionId)).toBe(
        2,
      );
      expect(await liveIds(ctx.store, user, T0 + 10)).toEqual([keep.sessionId]);
      for (const r of [a, b])
        expect(await ctx.store.sessions.findSession(r.sessionId)).toMatchObject({
          revokedAt: T0 + 10,
          revokeReason: "logout_others",
        });
      expect(await ctx.store.sessions.findSession(ended.sessionId)).toMatchObject({
        revokedAt: T0 + 4,
        revokeReason: "logout",
      });
      expect(await ctx.store.sessions.findActiveSession(bystander.sessionId, T0 + 10)).not.toBeNull();

      expect(await ctx.store.sessions.revokeUserSessions(user, "logout_all", T0 + 11, events)).toBe(1);
      expect(await ctx.store.sessions.listActiveSessions(user, T0 + 11)).toEqual([]);
      expect(await ctx.store.sessions.revokeUserSessions(user, "logout_all", T0 + 12, events)).toBe(0);
      const reasons = (await pending(ctx.store))
        .filter((e) => e.type === "session.revoked" && e.data.user_id === user)
        .map((e) => e.data.reason);
      expect(reasons.sort()).toEqual(["logout", "logout_all", "logout_others", "logout_others"]);
    });
  });

  describe("renameSession", () => {
    test("names an active session of its owner, changes nothing else and emits nothing", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      const named = await ctx.store.sessions.renameSession(row.sessionId, user, "Work laptop 💻", T0 + DAY);
      expect(named).toEqual({ ...row, name: "Work laptop 💻" });
      expect(await ctx.store.sessions.findSession(row.sessionId)).toEqual(named);
      expect(await ctx.store.sessions.renameSession(row.sessionId, user, null, T0 + DAY)).toEqual(row);
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created"]);
    });

    test("another user's, an unknown and an ended session are null and untouched", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      expect(await ctx.store.sessions.renameSession(row.sessionId, newUser(), "x", T0 + 1)).toBeNull();
      expect(await ctx.store.sessions.renameSession(Bun.randomUUIDv7(), user, "x", T0 + 1)).toBeNull();
      expect(await ctx.store.sessions.renameSession(row.sessionId, user, "x", T0 + IDLE)).toBeNull();
      await ctx.store.sessions.revokeSession(row.sessionId, user, "logout", T0 + 2, events);
      expect(await ctx.store.sessions.renameSession(row.sessionId, user, "x", T0 + 3)).toBeNull();
      expect((await ctx.store.sessions.findSession(row.sessionId))!.name).toBeNull();
    });
  });
}
