/** createSession: insert, LRU eviction beyond the cap, deleted-user marks; race-safety of both. */
import { describe, expect, test } from "bun:test";
import {
  type ContractContext,
  create,
  DAY,
  events,
  eventTrail,
  IDLE,
  newRow,
  newUser,
  pending,
  rotateOk,
  T0,
} from "./fixtures";

export function createContract(ctx: ContractContext) {
  describe("createSession", () => {
    test("stores the row as given and finds it by id and by token hash", async () => {
      const row = newRow(newUser());
      const result = await ctx.store.createSession({ row, maxSessionsPerUser: 100 }, events);
      expect(result).toEqual({ row, evicted: [] });
      expect(await ctx.store.findSession(row.sessionId)).toEqual(row);
      expect(await ctx.store.findActiveSession(row.sessionId, T0)).toEqual(row);
      expect(await ctx.store.findActiveByTokenHash(row.refreshTokenHash, T0)).toEqual(row);
      expect(await ctx.store.findActiveByTokenHash("hash-unknown", T0)).toBeNull();
      expect(await ctx.store.findSession(Bun.randomUUIDv7())).toBeNull();
    });

    test("keeps nulls and text as they are", async () => {
      const row = newRow(newUser(), T0, { userAgent: null, ip: null, claims: null });
      await ctx.store.createSession({ row, maxSessionsPerUser: 100 }, events);
      expect(await ctx.store.findSession(row.sessionId)).toEqual(row);
      const unicode = newRow(newUser(), T0, { userAgent: "Mozilla/5.0 (ünï 🦊)", ip: "2001:db8::1" });
      await ctx.store.createSession({ row: unicode, maxSessionsPerUser: 100 }, events);
      expect(await ctx.store.findSession(unicode.sessionId)).toEqual(unicode);
    });
  });

  describe("eviction beyond MAX_SESSIONS_PER_USER", () => {
    test("revokes the least recently used session (session_limit), its event before the new one's", async () => {
      const user = newUser();
      const s1 = await create(ctx.store, user, T0, 3);
      const s2 = await create(ctx.store, user, T0 + 1, 3);
      const s3 = await create(ctx.store, user, T0 + 2, 3);
      await rotateOk(ctx.store, s1.refreshTokenHash, T0 + 3); // s1 is now the most recently used
      const result = await ctx.store.createSession({ row: newRow(user, T0 + 4), maxSessionsPerUser: 3 }, events);
      expect(result!.evicted.map((r) => r.sessionId)).toEqual([s2.sessionId]);
      expect(result!.evicted[0]).toMatchObject({ revokedAt: T0 + 4, revokeReason: "session_limit" });
      const live = await ctx.store.listActiveSessions(user, T0 + 4);
      expect(live.map((r) => r.sessionId)).toEqual([result!.row.sessionId, s1.sessionId, s3.sessionId]);
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
      const result = await ctx.store.createSession({ row: newRow(user, T0 + 10), maxSessionsPerUser: 2 }, events);
      expect(result!.evicted.map((r) => r.sessionId)).toEqual(rows.slice(0, 4).map((r) => r.sessionId));
      expect((await ctx.store.listActiveSessions(user, T0 + 10)).map((r) => r.sessionId)).toEqual([
        result!.row.sessionId,
        rows[4]!.sessionId,
      ]);
    });

    test("cap 1 keeps only the new session; cap 0 means no limit", async () => {
      const user = newUser();
      const first = await create(ctx.store, user, T0, 1);
      const second = await ctx.store.createSession({ row: newRow(user, T0 + 1), maxSessionsPerUser: 1 }, events);
      expect(second!.evicted.map((r) => r.sessionId)).toEqual([first.sessionId]);

      const other = newUser();
      for (let i = 0; i < 5; i++) {
        const result = await ctx.store.createSession({ row: newRow(other, T0 + i), maxSessionsPerUser: 0 }, events);
        expect(result!.evicted).toEqual([]);
      }
      expect(await ctx.store.listActiveSessions(other, T0 + 10)).toHaveLength(5);
    });

    test("ended sessions do not count against the cap, other users' sessions neither", async () => {
      const user = newUser();
      const old = await create(ctx.store, user, T0, 2); // expires at T0 + IDLE
      const revoked = await create(ctx.store, user, T0 + IDLE - 10, 2);
      await ctx.store.revokeSession(revoked.sessionId, user, "logout", T0 + IDLE - 5, events);
      await create(ctx.store, newUser(), T0 + IDLE - 4, 2);
      const live = await create(ctx.store, user, T0 + IDLE - 3, 2);
      const result = await ctx.store.createSession({ row: newRow(user, T0 + IDLE + 1), maxSessionsPerUser: 2 }, events);
      expect(result!.evicted).toEqual([]);
      expect((await ctx.store.findSession(old.sessionId))!.revokedAt).toBeNull();
      expect((await ctx.store.listActiveSessions(user, T0 + IDLE + 1)).map((r) => r.sessionId)).toEqual([
        result!.row.sessionId,
        live.sessionId,
      ]);
    });

    test("concurrent creates never leave more active sessions than the cap", async () => {
      const user = newUser();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ctx.store.createSession({ row: newRow(user, T0 + i), maxSessionsPerUser: 3 }, events),
        ),
      );
      expect(await ctx.store.listActiveSessions(user, T0 + 100)).toHaveLength(3);
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
      expect(await ctx.store.isUserDeleted(user)).toBe(false);
      expect(await ctx.store.deleteUser(user, T0 + DAY, events)).toBe(2);
      expect(await ctx.store.isUserDeleted(user)).toBe(true);
      expect(await ctx.store.findSession(a.sessionId)).toMatchObject({
        revokedAt: T0 + DAY,
        revokeReason: "user_deleted",
      });
      expect(await eventTrail(ctx.store, a.sessionId)).toEqual(["created", "revoked:user_deleted"]);

      const before = (await pending(ctx.store)).length;
      expect(
        await ctx.store.createSession({ row: newRow(user, T0 + 2 * DAY), maxSessionsPerUser: 100 }, events),
      ).toBeNull();
      expect(await ctx.store.listSessions({ userId: user, status: "all" }, T0 + 2 * DAY)).toHaveLength(2);
      expect((await pending(ctx.store)).length).toBe(before);
      expect(await ctx.store.findActiveSession(bystander.sessionId, T0 + DAY)).not.toBeNull();
    });

    test("a repeated deletion is harmless", async () => {
      const user = newUser();
      await create(ctx.store, user);
      expect(await ctx.store.deleteUser(user, T0 + 1, events)).toBe(1);
      expect(await ctx.store.deleteUser(user, T0 + 2, events)).toBe(0);
      expect(await ctx.store.deleteUser(newUser(), T0 + 3, events)).toBe(0);
      expect(await ctx.store.isUserDeleted(user)).toBe(true);
    });

    test("a deletion racing with creates leaves no active session", async () => {
      const user = newUser();
      const creates = Array.from({ length: 12 }, (_, i) =>
        ctx.store.createSession({ row: newRow(user, T0 + i), maxSessionsPerUser: 100 }, events),
      );
      const deletion = ctx.store.deleteUser(user, T0 + 6, events);
      const created = (await Promise.all(creates)).filter((r) => r !== null);
      await deletion;
      expect(await ctx.store.listActiveSessions(user, T0 + 100)).toEqual([]);
      for (const result of created) {
        expect(await ctx.store.findSession(result!.row.sessionId)).toMatchObject({ revokeReason: "user_deleted" });
      }
    });
  });
}
