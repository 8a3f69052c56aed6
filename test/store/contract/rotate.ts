/**
 * The conditional writes behind a refresh: the compare-and-swap rotation, the grace replay, and a
 * DPoP proof's jti recorded once with the change it authorises. (Which write a presented token
 * calls for is the core's rule: see flows.ts.)
 */
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
  graceReplay,
  IDLE,
  LIFETIME,
  newUser,
  rotateOk,
  rotation,
  SECOND,
  T0,
} from "./fixtures";

export function rotateContract(ctx: ContractContext) {
  const sessions = () => ctx.store.sessions;

  describe("rotate: compare-and-swap", () => {
    test("the current token is swapped for the new one; the idle deadline moves; nothing is emitted", async () => {
      const row = await create(ctx.store, newUser());
      const now = T0 + DAY;
      const input = rotation(row, now, { userAgent: "agent/2.0" });
      const rotated = await sessions().rotate(input);
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
      expect(await sessions().findSession(row.sessionId)).toEqual(rotated as SessionRow);
      expect(await eventTrail(ctx.store, row.sessionId)).toEqual(["created"]);
    });

    test("user agent and ip are replaced only when given; access expiry never moves back", async () => {
      const row = await create(ctx.store, newUser());
      const rotated = await sessions().rotate(rotation(row, T0 + 1, { ip: "2001:db8::1", accessExpiresAt: T0 + 5 }));
      expect(rotated).toMatchObject({
        userAgent: row.userAgent,
        ip: "2001:db8::1",
        accessExpiresAt: row.accessExpiresAt,
      });
    });

    test("a hash that is not the current one changes nothing: the previous, an unknown, another session's", async () => {
      const row = await create(ctx.store, newUser());
      const current = await rotateOk(ctx.store, row, T0 + 1);
      const other = await create(ctx.store, newUser());
      expect(await sessions().rotate(rotation(row, T0 + 2))).toBeNull();
      expect(await sessions().rotate(rotation({ ...row, refreshTokenHash: "hash-unknown" }, T0 + 2))).toBeNull();
      expect(
        await sessions().rotate(rotation({ ...row, refreshTokenHash: other.refreshTokenHash }, T0 + 2)),
      ).toBeNull();
      expect(await sessions().findSession(row.sessionId)).toEqual(current);
    });

    test("a revoked or expired session never rotates", async () => {
      const revoked = await create(ctx.store, newUser());
      await sessions().revokeSession(revoked.sessionId, null, "logout", T0 + 1, events);
      expect(await sessions().rotate(rotation(revoked, T0 + 2))).toBeNull();
      const expired = await create(ctx.store, newUser());
      expect(await sessions().rotate(rotation(expired, T0 + IDLE))).toBeNull();
      expect((await sessions().findSession(expired.sessionId))!.rotationCount).toBe(0);
    });

    test("concurrent rotations with one token: exactly one wins", async () => {
      const row = await create(ctx.store, newUser());
      const results = await Promise.all(
        Array.from({ length: 20 }, () => sessions().rotate(rotation(row, T0 + SECOND))),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(await sessions().findSession(row.sessionId)).toEqual(winners[0] as SessionRow);
      expect((await sessions().findSession(row.sessionId))!.rotationCount).toBe(1);
    });

    test("idle: a rotation moves the deadline to now + idle timeout", async () => {
      const row = await create(ctx.store, newUser());
      const rotated = await rotateOk(ctx.store, row, T0 + IDLE - 1);
      expect(rotated.expiresAt).toBe(T0 + 2 * IDLE - 1);
      expect(await sessions().findActiveSession(row.sessionId, T0 + IDLE + DAY)).not.toBeNull();
    });

    test("absolute: rotations never move the session past created_at + max lifetime", async () => {
      const row = await create(ctx.store, newUser());
      let current = await rotateOk(ctx.store, row, T0 + 10 * DAY);
      expect(current.expiresAt).toBe(T0 + 24 * DAY);
      current = await rotateOk(ctx.store, current, T0 + 20 * DAY);
      expect(current.expiresAt).toBe(T0 + LIFETIME);
      current = await rotateOk(ctx.store, current, T0 + LIFETIME - 1);
      expect([current.expiresAt, current.absoluteExpiresAt]).toEqual([T0 + LIFETIME, T0 + LIFETIME]);
      expect(await sessions().rotate(rotation(current, T0 + LIFETIME))).toBeNull();
      expect((await sessions().findSession(row.sessionId))!.rotationCount).toBe(3);
    });
  });

  describe("replayGrace", () => {
    test("the previous token within the window: access expiry and client fields move, nothing rotates", async () => {
      const row = await create(ctx.store, newUser());
      const rotated = await rotateOk(ctx.store, row, T0 + SECOND);
      const at = T0 + SECOND + GRACE; // the window's last millisecond is still in
      const replay = await sessions().replayGrace(
        graceReplay(rotated, row.refreshTokenHash, at, { ip: "198.51.100.7" }),
      );
      expect(replay).toEqual({ ...rotated, accessExpiresAt: at + ACCESS_TTL, ip: "198.51.100.7" });
      expect(await sessions().findSession(row.sessionId)).toEqual(replay as SessionRow);
    });

    test("outside the window, with another hash, or on an ended session: null, nothing changes", async () => {
      const row = await create(ctx.store, newUser());
      const rotated = await rotateOk(ctx.store, row, T0 + SECOND);
      expect(
        await sessions().replayGrace(graceReplay(rotated, row.refreshTokenHash, T0 + SECOND + GRACE + 1)),
      ).toBeNull();
      expect(await sessions().replayGrace(graceReplay(rotated, rotated.refreshTokenHash, T0 + 2 * SECOND))).toBeNull();
      await sessions().revokeSession(row.sessionId, null, "logout", T0 + 3 * SECOND, events);
      expect(await sessions().replayGrace(graceReplay(rotated, row.refreshTokenHash, T0 + 4 * SECOND))).toBeNull();
      expect(await sessions().findSession(row.sessionId)).toMatchObject({ accessExpiresAt: rotated.accessExpiresAt });
    });
  });

  describe("DPoP proof ids", () => {
    test("a jti is accepted once: a second use refuses the change and leaves the session as it was", async () => {
      const row = await create(ctx.store, newUser());
      const proof = { jti: `jti-${crypto.randomUUID()}`, expiresAt: T0 + 60 * SECOND };
      const rotated = (await sessions().rotate(rotation(row, T0 + 1, { proof }))) as SessionRow;
      expect(rotated.rotationCount).toBe(1);
      expect(await sessions().replayGrace(graceReplay(rotated, row.refreshTokenHash, T0 + 2, { proof }))).toBe(
        "proof_replayed",
      );
      expect(await sessions().rotate(rotation(rotated, T0 + 3, { proof }))).toBe("proof_replayed");
      expect(await sessions().findSession(row.sessionId)).toEqual(rotated);
    });

    test("a write whose condition fails records no jti: the proof stays usable", async () => {
      const row = await create(ctx.store, newUser());
      const proof = { jti: `jti-${crypto.randomUUID()}`, expiresAt: T0 + 60 * SECOND };
      expect(
        await sessions().rotate(rotation({ ...row, refreshTokenHash: "hash-unknown" }, T0 + 1, { proof })),
      ).toBeNull();
      expect(await sessions().rotate(rotation(row, T0 + 2, { proof }))).toMatchObject({ rotationCount: 1 });
    });

    test("of concurrent changes with one jti, exactly one is applied", async () => {
      const row = await create(ctx.store, newUser());
      const rotated = await rotateOk(ctx.store, row, T0 + 1);
      const proof = { jti: `jti-${crypto.randomUUID()}`, expiresAt: T0 + 60 * SECOND };
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          sessions().replayGrace(graceReplay(rotated, row.refreshTokenHash, T0 + 2, { proof })),
        ),
      );
      expect(results.filter((r) => r !== null && r !== "proof_replayed")).toHaveLength(1);
      expect(results.filter((r) => r === "proof_replayed")).toHaveLength(9);
    });
  });
}
