/** purge: what it deletes (ended sessions, relayed events), what it keeps, --dry-run, batching. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { FakeClock, tempDir } from "../support/core";
import { type Seeded, seedStore } from "./seed";
import { countRows, DAY, openCoreAt, outboxEvents, readStore, sessionctl } from "./support";

const sessionIds = (dir: string) =>
  readStore(dir, (db) =>
    (db.query("select session_id as id from sessions").all() as Array<{ id: string }>).map((r) => r.id).sort(),
  );

/** Everything purge could touch, to compare before and after. */
const snapshot = (dir: string) => ({
  sessions: sessionIds(dir),
  proofs: countRows(dir, "dpop_proofs"),
  outbox: outboxEvents(dir).map((e) => [e.event.subject, e.event.type, e.sentAt]),
});

describe("purge", () => {
  let dir: string;
  let seeded: Seeded;
  beforeAll(async () => {
    dir = tempDir("sessionctl-purge-");
    seeded = await seedStore(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("--dry-run prints what it would delete and changes nothing", async () => {
    const before = snapshot(dir);
    const result = await sessionctl(dir, ["purge", "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(
      /^Dry run: would delete 1 ended session and 2 relayed events \(ended or relayed before \S+Z\)\. Nothing was changed\.\n$/,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  test("by default deletes sessions that ended more than 30 days ago and the events relayed before that", async () => {
    const result = await sessionctl(dir, ["purge"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Deleted 1 ended session and 2 relayed events \(.*\) in 1 batch\.\n$/);
    // bob's session ended only 26 days ago: kept. The active ones: kept.
    expect(sessionIds(dir)).toEqual([seeded.oldExpired, seeded.active, seeded.other].sort());
    // Only relayed rows go: every event still waiting for NATS stays.
    expect(outboxEvents(dir).every((e) => e.sentAt === null)).toBe(true);
    expect(countRows(dir, "outbox")).toBe(3);
  });

  test("--older-than 0s deletes every ended session but never an unrelayed event", async () => {
    const dry = await sessionctl(dir, ["purge", "--older-than", "0s", "--dry-run"]);
    expect(dry.stdout).toContain("would delete 1 ended session and 0 relayed events");
    const result = await sessionctl(dir, ["purge", "--older-than", "0s"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Deleted 1 ended session and 0 relayed events");
    expect(sessionIds(dir)).toEqual([seeded.active, seeded.other].sort());
    // bob's session.created was never relayed: it must still reach NATS although the session is gone.
    expect(outboxEvents(dir).some((e) => e.event.subject === seeded.oldExpired && e.sentAt === null)).toBe(true);
    expect(countRows(dir, "outbox")).toBe(3);
  });

  test("nothing left to purge is a success", async () => {
    const result = await sessionctl(dir, ["purge", "--older-than", "0s"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain("Deleted 0 ended sessions and 0 relayed events");
  });
});

test("a large purge runs in several small transactions until nothing matches", async () => {
  const dir = tempDir("sessionctl-purge-batches-");
  try {
    const now = Date.now();
    const core = await openCoreAt(dir, new FakeClock(now - 2 * DAY));
    try {
      for (let i = 0; i < 25; i++) await core.sessions.create({ userId: "many" });
      await core.sessions.revokeUserByAdmin("many");
      const events = await core.store.outbox.pendingEvents(1000);
      await core.store.outbox.markEventsSent(
        events.map((e) => e.id),
        now - DAY,
      );
    } finally {
      await core.close();
    }
    expect(countRows(dir, "outbox", "sent_at is not null")).toBe(50);

    const result = await sessionctl(dir, ["purge", "--older-than", "1h", "--batch-size", "10"]);
    expect(result.code).toBe(0);
    // 25 sessions and 50 events, at most 10 of each per transaction: 6 transactions, the last finds nothing.
    expect(result.stdout).toBe(
      `Deleted 25 ended sessions and 50 relayed events (${result.stdout.match(/\((.*)\)/)![1]}) in 6 batches.\n`,
    );
    // Progress is for terminals only: a pipe gets the summary line alone.
    expect(result.stdout).not.toContain("\r");
    expect(countRows(dir, "sessions")).toBe(0);
    expect(countRows(dir, "outbox")).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
