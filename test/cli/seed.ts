/**
 * A store with sessions in every state, made in-process with a fake clock so that some of them
 * ended weeks ago (the CLI process itself runs on the real clock):
 * - oldRevoked (alice): created and logged out 40 days ago, after one refresh; its events relayed 35 days ago
 * - oldExpired (bob):   created 40 days ago, idle deadline passed 26 days ago; its event never relayed
 * - active (alice) and other (carol): created now; their events not relayed yet
 */
import type { Core } from "../../server/open-core";
import { FakeClock } from "../support/core";
import { DAY, openCoreAt } from "./support";

export interface Seeded {
  now: number;
  oldRevoked: string;
  oldExpired: string;
  active: string;
  other: string;
  /** The refresh tokens handed out, to prove none of them reaches the CLI's output. */
  refreshTokens: string[];
}

export async function seedStore(dir: string): Promise<Seeded> {
  const now = Date.now();
  const clock = new FakeClock(now - 40 * DAY);
  const core: Core = await openCoreAt(dir, clock);
  try {
    const refreshTokens: string[] = [];
    const revoked = await core.sessions.create({ userId: "alice", userAgent: "Old Browser", ip: "192.0.2.1" });
    const rotated = await core.sessions.refresh({ refreshToken: revoked.refresh_token });
    await core.sessions.revokeByRefreshToken(rotated.refresh_token);
    const expired = await core.sessions.create({ userId: "bob" });
    const relayed = (await core.store.outbox.pendingEvents(100)).filter((e) => e.payload.includes(revoked.session_id));
    await core.store.outbox.markEventsSent(
      relayed.map((e) => e.id),
      now - 35 * DAY,
    );

    clock.time = now;
    const active = await core.sessions.create({
      userId: "alice",
      userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
      ip: "2001:db8::1",
    });
    const other = await core.sessions.create({ userId: "carol" });
    refreshTokens.push(
      revoked.refresh_token,
      rotated.refresh_token,
      expired.refresh_token,
      active.refresh_token,
      other.refresh_token,
    );
    return {
      now,
      oldRevoked: revoked.session_id,
      oldExpired: expired.session_id,
      active: active.session_id,
      other: other.session_id,
      refreshTokens,
    };
  } finally {
    await core.close();
  }
}
