/** Operator-facing reads and writes: listings, stats, purge, signing keys, service clients, readiness. */
import { describe, expect, test } from "bun:test";
import type { SigningKeyRow } from "../../../server/core/ports";
import { purgeCutoffs } from "../../../server/core/session-rules";
import { type ContractContext, create, DAY, events, IDLE, liveIds, newUser, rotateOk, rotation, T0 } from "./fixtures";

export function adminContract(ctx: ContractContext) {
  describe("listings", () => {
    test("listActiveSessions: active only, most recently used first", async () => {
      const user = newUser();
      const a = await create(ctx.store, user, T0);
      const b = await create(ctx.store, user, T0 + 1);
      const c = await create(ctx.store, user, T0 + 2);
      await ctx.store.sessions.revokeSession(b.sessionId, user, "logout", T0 + 3, events);
      await rotateOk(ctx.store, a, T0 + 4);
      expect(await liveIds(ctx.store, user, T0 + 5)).toEqual([a.sessionId, c.sessionId]);
    });

    test("listSessions: by user and status, newest first, limited", async () => {
      const user = newUser();
      const expired = await create(ctx.store, user, T0);
      const revoked = await create(ctx.store, user, T0 + DAY);
      const active = await create(ctx.store, user, T0 + 2 * DAY);
      await create(ctx.store, newUser(), T0 + 3 * DAY);
      await ctx.store.sessions.revokeSession(revoked.sessionId, null, "admin", T0 + 2 * DAY, events);
      const now = T0 + IDLE + 1;
      const ids = async (status: "active" | "revoked" | "expired" | "all", limit?: number) =>
        (await ctx.store.admin.listSessions({ userId: user, status, limit }, now)).map((r) => r.sessionId);
      expect(await ids("all")).toEqual([active.sessionId, revoked.sessionId, expired.sessionId]);
      expect(await ids("active")).toEqual([active.sessionId]);
      expect(await ids("revoked")).toEqual([revoked.sessionId]);
      expect(await ids("expired")).toEqual([expired.sessionId]);
      expect(await ids("all", 2)).toEqual([active.sessionId, revoked.sessionId]);
      expect(await ctx.store.admin.listSessions({}, now)).toHaveLength(4);
    });
  });

  describe("stats", () => {
    test("counts sessions by status, users with an active session, and the event backlog", async () => {
      const empty = await ctx.store.admin.stats(T0);
      expect(empty).toEqual({
        sessions: { active: 0, revoked: 0, expired: 0 },
        users: 0,
        events: { pending: 0, oldestPendingCreatedAt: null },
      });
      const u1 = newUser();
      await create(ctx.store, u1, T0);
      await create(ctx.store, u1, T0 + DAY);
      const gone = await create(ctx.store, newUser(), T0 + DAY);
      await ctx.store.sessions.revokeSession(gone.sessionId, null, "admin", T0 + DAY, events);
      await create(ctx.store, newUser(), T0 + 2 * DAY);
      const stats = await ctx.store.admin.stats(T0 + IDLE);
      expect(stats).toEqual({
        sessions: { active: 2, revoked: 1, expired: 1 },
        users: 2,
        events: { pending: 5, oldestPendingCreatedAt: T0 },
      });
      await ctx.store.outbox.markEventsSent(
        (await ctx.store.outbox.pendingEvents(100)).map((r) => r.id),
        T0 + IDLE,
      );
      expect((await ctx.store.admin.stats(T0 + IDLE)).events).toEqual({ pending: 0, oldestPendingCreatedAt: null });
    });
  });

  describe("purge", () => {
    /** Two revoked at T0 + 1 day, one expired at T0 + IDLE, one active; two events relayed at T0 + 1 day. */
    async function seed() {
      const user = newUser();
      const revoked = [await create(ctx.store, user, T0), await create(ctx.store, user, T0)];
      for (const r of revoked) await ctx.store.sessions.revokeSession(r.sessionId, null, "admin", T0 + DAY, events);
      const expired = await create(ctx.store, user, T0);
      const active = await create(ctx.store, user, T0 + 10 * DAY);
      await ctx.store.outbox.markEventsSent(
        (await ctx.store.outbox.pendingEvents(2)).map((r) => r.id),
        T0 + DAY,
      );
      return { revoked, expired, active };
    }

    test("a dry run counts what would go and changes nothing", async () => {
      const { revoked } = await seed();
      const before = await ctx.store.admin.listSessions({ status: "all" }, T0);
      const pendingBefore = await ctx.store.outbox.pendingEvents(100);
      expect(await ctx.store.admin.countPurgeable(purgeCutoffs(0, T0 + IDLE + 1))).toEqual({ sessions: 3, events: 2 });
      expect(await ctx.store.admin.listSessions({ status: "all" }, T0)).toEqual(before);
      expect(await ctx.store.outbox.pendingEvents(100)).toEqual(pendingBefore);
      expect(await ctx.store.sessions.findSession(revoked[0]!.sessionId)).not.toBeNull();
    });

    test("deletes ended sessions and relayed events older than the cut-off, in batches", async () => {
      const { revoked, expired, active } = await seed();
      const now = T0 + IDLE + 1;
      // Nothing had ended before T0 + DAY.
      expect(await ctx.store.admin.purge(purgeCutoffs(now - (T0 + DAY - 1), now), 10)).toEqual({
        sessions: 0,
        events: 0,
      });
      expect(await ctx.store.admin.purge(purgeCutoffs(0, now), 2)).toEqual({ sessions: 2, events: 2 });
      expect(await ctx.store.admin.purge(purgeCutoffs(0, now), 2)).toEqual({ sessions: 1, events: 0 });
      expect(await ctx.store.admin.purge(purgeCutoffs(0, now), 2)).toEqual({ sessions: 0, events: 0 });
      for (const r of [...revoked, expired]) expect(await ctx.store.sessions.findSession(r.sessionId)).toBeNull();
      expect(await ctx.store.sessions.findActiveSession(active.sessionId, now)).not.toBeNull();
      expect((await ctx.store.outbox.pendingEvents(100)).length).toBe(4); // unsent events are never purged
    });

    test("a purged session is gone: its tokens rotate nothing", async () => {
      const row = await create(ctx.store, newUser());
      const current = await rotateOk(ctx.store, row, T0 + 1);
      await ctx.store.sessions.revokeSession(row.sessionId, null, "admin", T0 + 2, events);
      expect(await ctx.store.admin.purge(purgeCutoffs(0, T0 + 3), 10)).toEqual({ sessions: 1, events: 0 });
      expect(await ctx.store.sessions.findSession(row.sessionId)).toBeNull();
      expect(await ctx.store.sessions.rotate(rotation(current, T0 + 4))).toBeNull();
    });

    test("expired DPoP proof ids are forgotten; live ones still refuse a replay", async () => {
      const row = await create(ctx.store, newUser());
      const first = await rotateOk(ctx.store, row, T0 + 1);
      const used = { jti: "proof-1", expiresAt: T0 + 60_000 };
      expect(await ctx.store.sessions.rotate(rotation(first, T0 + 2, { proof: used }))).not.toBeNull();
      await ctx.store.admin.purge(purgeCutoffs(0, T0 + 59_999), 10);
      const again = (await ctx.store.sessions.findSession(row.sessionId))!;
      expect(await ctx.store.sessions.rotate(rotation(again, T0 + 3, { proof: used }))).toBe("proof_replayed");
      await ctx.store.admin.purge(purgeCutoffs(0, T0 + 60_001), 10);
      expect(await ctx.store.sessions.rotate(rotation(again, T0 + 4, { proof: used }))).not.toBeNull();
    });
  });

  describe("signing keys", () => {
    const key = (kid: string, activatesAt: number): SigningKeyRow => ({
      kid,
      alg: "EdDSA",
      publicJwk: `{"kty":"OKP","crv":"Ed25519","x":"${kid}"}`,
      privateKeyEncrypted: `sealed-${kid}`,
      createdAt: T0,
      activatesAt,
      retiredAt: null,
      mac: `mac-${kid}`,
    });

    test("insert, list by activation, retire once (with the renewed MAC)", async () => {
      await ctx.store.signingKeys.insertSigningKey(key("k2", T0 + DAY));
      await ctx.store.signingKeys.insertSigningKey(key("k1", T0));
      expect(await ctx.store.signingKeys.listSigningKeys()).toEqual([key("k1", T0), key("k2", T0 + DAY)]);
      const retired = { ...key("k1", T0), retiredAt: T0 + 5, mac: "mac-k1-retired" };
      expect(await ctx.store.signingKeys.retireSigningKey(retired)).toBe(true);
      expect(await ctx.store.signingKeys.retireSigningKey({ ...retired, retiredAt: T0 + 6 })).toBe(false);
      expect(await ctx.store.signingKeys.retireSigningKey({ ...key("nope", T0), retiredAt: T0 + 6 })).toBe(false);
      expect((await ctx.store.signingKeys.listSigningKeys())[0]).toEqual(retired);
    });
  });

  describe("service clients", () => {
    test("add (name and key hash unique), find by hash, list by name, remove", async () => {
      const gateway = { name: "gateway", keyHash: "kh-gateway", createdAt: T0 };
      const auth = { name: "auth-service", keyHash: "kh-auth", createdAt: T0 + 1 };
      expect(await ctx.store.serviceClients.addServiceClient(gateway)).toBe(true);
      expect(await ctx.store.serviceClients.addServiceClient(auth)).toBe(true);
      expect(await ctx.store.serviceClients.addServiceClient({ ...gateway, keyHash: "kh-other" })).toBe(false);
      expect(await ctx.store.serviceClients.addServiceClient({ name: "Zed", keyHash: "kh-auth", createdAt: T0 })).toBe(
        false,
      );
      expect(await ctx.store.serviceClients.addServiceClient({ name: "Zed", keyHash: "kh-zed", createdAt: T0 })).toBe(
        true,
      );
      expect((await ctx.store.serviceClients.listServiceClients()).map((c) => c.name)).toEqual([
        "Zed",
        "auth-service",
        "gateway",
      ]);
      expect(await ctx.store.serviceClients.findServiceClientByHash("kh-auth")).toEqual(auth);
      expect(await ctx.store.serviceClients.findServiceClientByHash("kh-none")).toBeNull();
      expect(await ctx.store.serviceClients.removeServiceClient("gateway")).toBe(true);
      expect(await ctx.store.serviceClients.removeServiceClient("gateway")).toBe(false);
      expect(await ctx.store.serviceClients.findServiceClientByHash("kh-gateway")).toBeNull();
    });
  });

  describe("checkWritable", () => {
    test("resolves on a healthy store and changes nothing", async () => {
      await ctx.store.signingKeys.insertSigningKey({
        kid: "k",
        alg: "EdDSA",
        publicJwk: "{}",
        privateKeyEncrypted: "x",
        createdAt: T0,
        activatesAt: T0,
        retiredAt: null,
        mac: "m",
      });
      await ctx.store.checkWritable();
      expect((await ctx.store.signingKeys.listSigningKeys()).map((k) => k.kid)).toEqual(["k"]);
    });
  });
}
