/** The transactional outbox (write with the change, read in order, mark sent) and leases. */
import { describe, expect, test } from "bun:test";
import {
  type ContractContext,
  create,
  events,
  eventTrail,
  failingEvents,
  newRow,
  newUser,
  pending,
  T0,
} from "./fixtures";

export function outboxContract(ctx: ContractContext) {
  describe("outbox", () => {
    test("a change writes its CloudEvents, in order, without any token hash", async () => {
      const user = newUser();
      const row = await create(ctx.store, user);
      await ctx.store.sessions.revokeSession(row.sessionId, user, "logout", T0 + 7, events);
      const rows = await ctx.store.outbox.pendingEvents(100);
      expect(rows.map((r) => r.subject)).toEqual(["session.created", "session.revoked"]);
      expect(rows[0]!.seq).toBeLessThan(rows[1]!.seq);
      expect(rows.map((r) => r.sentAt)).toEqual([null, null]);
      const [created, revoked] = rows.map((r) => JSON.parse(r.payload));
      expect(created).toMatchObject({
        specversion: "1.0",
        id: rows[0]!.id,
        type: "session.created",
        subject: row.sessionId,
      });
      expect(created.data).toEqual({
        session_id: row.sessionId,
        user_id: user,
        user_agent: row.userAgent,
        ip: row.ip,
        created_at: new Date(T0).toISOString(),
        expires_at: new Date(row.expiresAt).toISOString(),
        bound: false,
      });
      expect(rows[0]!.createdAt).toBe(T0);
      expect(revoked).toMatchObject({
        type: "session.revoked",
        data: { reason: "logout", revoked_at: new Date(T0 + 7).toISOString() },
      });
      expect(rows[1]!.createdAt).toBe(T0 + 7);
      for (const r of rows) expect(r.payload).not.toContain(row.refreshTokenHash);
    });

    test("events commit or roll back with their change", async () => {
      const user = newUser();
      const row = newRow(user);
      await expect(ctx.store.sessions.create(row, 100, failingEvents)).rejects.toThrow("event factory failed");
      // A script store reports its events after the script committed them: the session stands.
      if (ctx.revocationEventsWrittenByScript)
        expect(await ctx.store.sessions.findSession(row.sessionId)).not.toBeNull();
      else expect(await ctx.store.sessions.findSession(row.sessionId)).toBeNull();

      const kept = await create(ctx.store, user);
      if (ctx.revocationEventsWrittenByScript) {
        // The script wrote the revocation with its outbox row; the factory ran after it and cannot undo either.
        await expect(
          ctx.store.sessions.revokeSession(kept.sessionId, user, "logout", T0 + 1, failingEvents),
        ).rejects.toThrow("event factory failed");
        const other = await create(ctx.store, user);
        await expect(ctx.store.sessions.deleteUser(user, T0 + 1, failingEvents)).rejects.toThrow(
          "event factory failed",
        );
        expect(await ctx.store.sessions.findSession(kept.sessionId)).toMatchObject({ revokeReason: "logout" });
        expect(await ctx.store.sessions.findSession(other.sessionId)).toMatchObject({ revokeReason: "user_deleted" });
        expect(await ctx.store.sessions.create(newRow(user, T0 + 2), 100, events)).toBeNull();
        expect(await eventTrail(ctx.store, kept.sessionId)).toEqual(["created", "revoked:logout"]);
        expect(await eventTrail(ctx.store, other.sessionId)).toEqual(["created", "revoked:user_deleted"]);
        return;
      }
      await expect(
        ctx.store.sessions.revokeSession(kept.sessionId, user, "logout", T0 + 1, failingEvents),
      ).rejects.toThrow("event factory failed");
      await expect(ctx.store.sessions.revokeUserSessions(user, "logout_all", T0 + 1, failingEvents)).rejects.toThrow(
        "event factory failed",
      );
      await expect(ctx.store.sessions.deleteUser(user, T0 + 1, failingEvents)).rejects.toThrow("event factory failed");
      expect(await ctx.store.sessions.findActiveSession(kept.sessionId, T0 + 1)).toEqual(kept);
      // The deletion mark rolled back too: the user may still open sessions.
      expect(await ctx.store.sessions.create(newRow(user, T0 + 2), 100, events)).not.toBeNull();
      expect((await pending(ctx.store)).map((e) => e.type)).toEqual(["session.created", "session.created"]);
    });

    test("pendingEvents pages in order; markEventsSent takes events out of it", async () => {
      for (let i = 0; i < 5; i++) await create(ctx.store, newUser(), T0 + i);
      const all = await ctx.store.outbox.pendingEvents(100);
      expect(all.map((r) => r.createdAt)).toEqual([T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
      const page = await ctx.store.outbox.pendingEvents(2);
      expect(page).toEqual(all.slice(0, 2));
      await ctx.store.outbox.markEventsSent(
        page.map((r) => r.id),
        T0 + 50,
      );
      await ctx.store.outbox.markEventsSent([], T0 + 50);
      expect(await ctx.store.outbox.pendingEvents(100)).toEqual(all.slice(2));
      expect((await ctx.store.admin.stats(T0 + 50)).events.pending).toBe(3);
    });
  });

  describe("leases", () => {
    test("exclusive until expiry, renewable by the owner, released only by the owner", async () => {
      const s = ctx.store;
      expect(await s.leases.acquireLease("relay", "a", 1000, T0)).toBe(true);
      expect(await s.leases.acquireLease("relay", "b", 1000, T0 + 10)).toBe(false);
      expect(await s.leases.acquireLease("relay", "a", 1000, T0 + 500)).toBe(true); // renewed until T0 + 1500
      expect(await s.leases.acquireLease("relay", "b", 1000, T0 + 1499)).toBe(false);
      expect(await s.leases.acquireLease("relay", "b", 1000, T0 + 1500)).toBe(true); // expired: taken over
      expect(await s.leases.acquireLease("relay", "a", 1000, T0 + 1600)).toBe(false);
      await s.leases.releaseLease("relay", "a"); // not a's: no effect
      expect(await s.leases.acquireLease("relay", "a", 1000, T0 + 1700)).toBe(false);
      await s.leases.releaseLease("relay", "b");
      expect(await s.leases.acquireLease("relay", "a", 1000, T0 + 1700)).toBe(true);
      expect(await s.leases.acquireLease("other", "b", 1000, T0 + 1700)).toBe(true);
    });

    test("of many contenders at once, exactly one gets the lease", async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ctx.store.leases.acquireLease("relay", `owner-${i}`, 1000, T0)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
