/** sessions.create: insert, LRU eviction beyond the cap, deleted-user marks; race-safety of both. */
import { describe, expect, test } from "bun:test";
import {
  type ContractContext,
  create,
  DAY,
  events,
  eventTrail,
  IDLE,
  liveIds,
  newRow,
  newUser,
  pending,
  rotateOk,
  T0,
} from "./fixtures";

export function createContract(ctx: ContractContext) {
  describe("sessions.create", () => {
    test("stores the row as given and finds it by id", async () => {
      const row = newRow(newUser());
      const result = await ctx.store.sessions.create(row, 100, events);
      expect(result).toEqual({ row, evicted: [] });
      expect(await ctx.store.sessions.findSession(row.sessionId)).toEqual(row);
      expect(await ctx.store.sessions.findActiveSession(row.sessionId, T0)).toEqual(row);
      expect(await ctx.store.sessions.findSession(Bun.randomUUIDv7())).toBeNull();
    });

    test("keeps the name, the DPoP binding and the MAC as given", async () => {
      const row = newRow(newUser(), T0, { name: "Work laptop", dpopJkt: "j".repeat(43), mac: "m".repeat(43) });
      await ctx.store.sessions.create(row, 100, events);
      expect(await ctx.store.sessions.findSession(row.sessionId)).toEqual(row);
    });

    test("keeps nulls and text as they are", async () => {
      const row = newRow(newUser(), T0, { userAgent: null, ip: null, claims: null });
      await ctx.store.sessions.create(row, 100, events);
      expect(await ctx.store.sessions.findSession(row.sessionId)).toEqual(row);
      const unicode = newRow(newUser(), T0, { userAgent: "Mozilla/5.0 (ünï 🦊)", ip: "2001:db8::1" });
      await ctx.store.sessions.create(unicode, 100, events);
      expect(await ctx.store.sessions.findSession(unicode.sessionId)).toEqual(unicode);
    });
  });

  describe("eviction beyond MAX_SESSIONS_PER_USER", () => {
    test("revokes the least recently used session (session_limit), its event before the new one's", async () => {
      const user = newUser();
      const s1 = await create(ctx.store, user, T0, 3);
      const s2 = await create(ctx.store, user, T0 + 1, 3);
      const s3 = await create(ctx.store, user, T0 + 2, 3);
      await rotateOk(ctx.store, s1, T0 + 3); // s1 is now the most recently used
      const result = await ctx.store.sessions.create(newRow(user, T0 + 4), 3, events);
      expect(result!.evicted.map((r) => r.sessionId)).toEqual([s2.sessionId]);
      expect(result!.evicted[0]).toMatchObject({ revokedAt: T0 + 4, revokeReason: "session_limit" });
      expect(await liveIds(ctx.store, user, T0 + 4)).toEqual([result!.row.sessionId, s1.sessionId, s3.sessionId]);
      const tail = (await pending(ctx.store)).slice(-2).map((e) => [e.type, e.subject]);
      expect(tail).toEqual([
        ["session.revoked", s2.sessionId],
        ["session.created", result!.row.sessionId],
      ]);
    });

    test("evicts every session beyond a lowered cap, least recently used first", async () => {
      const user = newUser();
      const rows = [];
      for (let i = 0; i < 5; i++) rows.push(await create(ctx.store, user, T0 + i, 100));
      const result = await ctx.store.sessions.create(newRow(user, T0 + 10), 2, events);
      expect(result!.evicted.map((r) => r.sessionId)).toEqual(rows.slice(0, 4).map((r) => r.sessionId));
      expect(await liveIds(ctx.store, user, T0 + 10)).toEqual([result!.row.sessionId, rows[4]!.sessionId]);
    });

    test("cap 1 keeps only the new session; cap 0 means no limit", async () => {
      const user = newUser();
      const first = await create(ctx.store, user, T0, 1);
      const second = await ctx.store.sessions.create(newRow(user, T0 + 1), 1, events);
      expect(second!.evicted.map((r) => r.sessionId)).toEqual([first.sessionId]);

      const other = newUser();
      for (let i = 0; i < 5; i++) {
        const result = await ctx.store.sessions.create(newRow(other, T0 + i), 0, events);
        expect(result!.evicted).toEqual([]);
      }
      expect(await ctx.store.sessions.listActiveSessions(other, T0 + 10)).toHaveLength(5);
    });

    test("ended sessions do not count against the cap, other users' sessions neither", async () => {
      const user = newUser();
      const old = await create(ctx.store, user, T0, 2); // expires at T0 + IDLE
      const revoked = await create(ctx.store, user, T0 + IDLE - 10, 2);
      await ctx.store.sessions.revokeSession(revoked.sessionId, user, "logout", T0 + IDLE - 5, events);
      await create(ctx.store, newUser(), T0 + IDLE - 4, 2);
      const live = await create(ctx.store, user, T0 + IDLE - 3, 2);
      const result = await ctx.store.sessions.create(newRow(user, T0 + IDLE + 1), 2, events);
      expect(result!.evicted).toEqual([]);
      expect((await ctx.store.sessions.findSession(old.sessionId))!.revokedAt).toBeNull();
      expect(await liveIds(ctx.store, user, T0 + IDLE + 1)).toEqual([result!.row.sessionId, live.sessionId]);
    });

    test("concurrent creates never leave more active sessions than the cap", async () => {
      const user = newUser();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ctx.store.sessions.create(newRow(user, T0 + i), 3, events)),
      );
      expect(await ctx.store.sessions.listActiveSessions(user, T0 + 100)).toHaveLength(3);
      expect(results.reduce((n, r) => n + r!.evicted.length, 0)).toBe(17);
      const revokedEvents = (await pending(ctx.store)).filter((e) => e.type === "session.revoked");
      expect(revokedEvents).toHaveLength(17);
    });
  });

  describe("deleted users", () => {
    test("deleteUser revokes every session (user_deleted) and marks the user; creates are refused after", async () => {
      const user = newUser();
      const bystander = await create(ctx.store, newUser());
      const a = await create(ctx.store, user, T0);
      await create(ctx.store, user, T0 + 1);
      expect(await ctx.store.sessions.deleteUser(user, T0 + DAY, events)).toBe(2);
      expect(await ctx.store.sessions.findSession(a.sessionId)).toMatchObject({
        revokedAt: T0 + DAY,
        revokeReason: "user_deleted",
      });
      expect(await eventTrail(ctx.store, a.sessionId)).toEqual(["created", "revoked:user_deleted"]);

      const before = (await pending(ctx.store)).length;
      expect(await ctx.store.sessions.create(newRow(user, T0 + 2 * DAY), 100, events)).toBeNull();
      expect(await ctx.store.admin.listSessions({ userId: user, status: "all" }, T0 + 2 * DAY)).toHaveLength(2);
      expect((await pending(ctx.store)).length).toBe(before);
      expect(await ctx.store.sessions.findActiveSession(bystander.sessionId, T0 + DAY)).not.toBeNull();
    });

    test("a repeated deletion is harmless", async () => {
      const user = newUser();
      await create(ctx.store, user);
      expect(await ctx.store.sessions.deleteUser(user, T0 + 1, events)).toBe(1);
      expect(await ctx.store.sessions.deleteUser(user, T0 + 2, events)).toBe(0);
      expect(await ctx.store.sessions.deleteUser(newUser(), T0 + 3, events)).toBe(0);
      expect(await ctx.store.sessions.create(newRow(user, T0 + 4), 100, events)).toBeNull();
    });

    test("a deletion racing with creates leaves no active session", async () => {
      const user = newUser();
      const creates = Array.from({ length: 12 }, (_, i) =>
        ctx.store.sessions.create(newRow(user, T0 + i), 100, events),
      );
      const deletion = ctx.store.sessions.deleteUser(user, T0 + 6, events);
      const created = (await Promise.all(creates)).filter((r) => r !== null);
      await deletion;
      expect(await ctx.store.sessions.listActiveSessions(user, T0 + 100)).toEqual([]);
      for (const result of created) {
        expect(await ctx.store.sessions.findSession(result!.row.sessionId)).toMatchObject({
          revokeReason: "user_deleted",
        });
      }
    });
  });
}
