/**
 * CONTRACT §5 read back from stream SESSIONS of a real nats-server: every event type and every
 * revocation reason, the whole CloudEvents document, Nats-Msg-Id = id, created before revoked,
 * no event when nothing changed, and no token or hash anywhere in the stream.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import { SECRET_KEY, tempDir } from "../support/core";
import { type NatsClient, natsClient, type RunningNats, startNats } from "../support/nats";
import { client, openDbReadOnly, type Pair, PROJECT_ROOT, type RunningServer, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";
import { bySession, cloudEvent, latestExp, leakedSecrets, outboxState, type SessionEvent, secretsOf } from "./helpers";

const pool = new ServerPool();
const dirs: string[] = [];
let nats: RunningNats;
let bus: NatsClient;
let main: RunningServer;
let limited: RunningServer;
let mainDir: string;
let limitDir: string;

beforeAll(async () => {
  nats = await startNats();
  bus = await natsClient(nats.url);
  mainDir = tempDir("session-ce-");
  limitDir = tempDir("session-ce-limit-");
  dirs.push(mainDir, limitDir);
  main = await pool.start(mainDir, { NATS_URL: nats.url, REFRESH_REUSE_GRACE: "1s" });
  limited = await pool.start(limitDir, { NATS_URL: nats.url, MAX_SESSIONS_PER_USER: "1" });
});

afterAll(async () => {
  await pool.killAll();
  await bus?.close();
  await nats?.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Tracked {
  dir: string;
  userId: string;
  /** Every pair handed out for the session, the create's first. */
  pairs: Pair[];
  userAgent: string | null;
  ip: string | null;
  reason?: string;
}

const tracked = new Map<string, Tracked>();
const everyPair: Pair[] = [];

async function create(
  server: RunningServer,
  dir: string,
  userId: string,
  extra: { user_agent?: string; ip?: string; claims?: object } = {},
  expectIp?: string,
) {
  const res = await client(server.url).create({ user_id: userId, ...extra });
  expect(res.status).toBe(201);
  const pair = (await res.json()) as Pair;
  everyPair.push(pair);
  tracked.set(pair.session_id, {
    dir,
    userId,
    pairs: [pair],
    userAgent: extra.user_agent ?? null,
    ip: expectIp ?? extra.ip ?? null,
  });
  return pair;
}

async function refresh(server: RunningServer, pair: Pair): Promise<Pair> {
  const res = await client(server.url).refresh(pair.refresh_token);
  expect(res.status).toBe(200);
  const next = (await res.json()) as Pair;
  expect(next.session_id).toBe(pair.session_id);
  everyPair.push(next);
  tracked.get(pair.session_id)!.pairs.push(next);
  return next;
}

const expectReason = (pair: Pair, reason: string) => (tracked.get(pair.session_id)!.reason = reason);

/** `sessionctl revoke ID` as its own process. */
async function adminRevoke(dir: string, sessionId: string): Promise<void> {
  const cli = join(PROJECT_ROOT, "cli/main.ts");
  const proc = spawn(["bun", cli, "revoke", sessionId], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATABASE_URL: `sqlite:${join(dir, "sessions.db")}`,
      SECRET_KEY,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  expect({ code, output }).toMatchObject({ code: 0 });
}

function dbRow(dir: string, sessionId: string) {
  const db = openDbReadOnly(dir);
  try {
    return db
      .query("select user_id, created_at, expires_at, revoked_at, revoke_reason from sessions where session_id = ?")
      .get(sessionId) as {
      user_id: string;
      created_at: number;
      expires_at: number;
      revoked_at: number | null;
      revoke_reason: string | null;
    };
  } finally {
    db.close();
  }
}

test("every event type and reason, read back from stream SESSIONS, is the whole contract document", async () => {
  const startedAt = Date.now();
  const api = client(main.url);

  // ---- sessions, each meant for one reason ----
  await create(
    main,
    mainDir,
    "u-created",
    { user_agent: "Mozilla/5.0 (test)", ip: "2001:DB8:0:0:0:0:0:1", claims: { role: "x" } },
    "2001:db8::1",
  );
  const del = await create(main, mainDir, "u-del");
  const delOther = await create(main, mainDir, "u-del");
  const rev = await create(main, mainDir, "u-rev", { ip: "192.0.2.7" });
  const [othersA, othersB, othersC] = [
    await create(main, mainDir, "u-others"),
    await create(main, mainDir, "u-others"),
    await create(main, mainDir, "u-others"),
  ];
  const [allA, allB] = [await create(main, mainDir, "u-all"), await create(main, mainDir, "u-all")];
  const reuse = await create(main, mainDir, "u-reuse");
  const admin = await create(main, mainDir, "u-admin");
  const [goneA, goneB] = [await create(main, mainDir, "u-deleted"), await create(main, mainDir, "u-deleted")];
  const limitA = await create(limited, limitDir, "u-limit");

  // A later second, so a refresh's access token expires later than the create's: the revoked
  // events must carry the latest exp, not the first.
  await Bun.sleep(1_100);
  const del2 = await refresh(main, del);
  const rev2 = await refresh(main, rev);
  await refresh(main, othersB);
  await refresh(main, allB);
  await refresh(main, reuse);
  const reuseRotatedAt = Date.now();
  await refresh(main, admin);
  await refresh(main, goneA);
  await refresh(limited, limitA);

  // logout: DELETE /session/{id}; again (already ended) is 204 and writes nothing; foreign is 404.
  expect((await api.logout(del2.access_token, del.session_id)).status).toBe(204);
  expectReason(del, "logout");
  expect((await api.logout(delOther.access_token, del.session_id)).status).toBe(204);
  expect((await api.logout(othersA.access_token, del.session_id)).status).toBe(404);

  // logout: POST /session/revoke, twice.
  for (let i = 0; i < 2; i++) {
    const res = await api.revoke(rev2.refresh_token);
    expect(res.status).toBe(200);
  }
  expectReason(rev, "logout");

  // logout_others, then again (nothing left to revoke).
  expect(await (await api.logoutAll(othersA.access_token, true)).json()).toEqual({ revoked: 2 });
  expect(await (await api.logoutAll(othersA.access_token, true)).json()).toEqual({ revoked: 0 });
  expectReason(othersB, "logout_others");
  expectReason(othersC, "logout_others");

  // logout_all.
  expect(await (await api.logoutAll(allA.access_token)).json()).toEqual({ revoked: 2 });
  expectReason(allA, "logout_all");
  expectReason(allB, "logout_all");

  // admin: sessionctl revoke, twice (the second changes nothing). The server relays the CLI's rows.
  await adminRevoke(mainDir, admin.session_id);
  await adminRevoke(mainDir, admin.session_id);
  expectReason(admin, "admin");

  // session_limit: MAX_SESSIONS_PER_USER=1 evicts the older session when a new one opens.
  await create(limited, limitDir, "u-limit");
  expectReason(limitA, "session_limit");

  // user_deleted: a CloudEvents user.deleted on stream USERS.
  await bus.waitForStream("USERS");
  await bus.publish("user.deleted", {
    specversion: "1.0",
    id: crypto.randomUUID(),
    source: "auth-service",
    type: "user.deleted",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: { user_id: "u-deleted" },
  });
  await waitFor(
    "u-deleted revoked",
    () => dbRow(mainDir, goneA.session_id).revoked_at && dbRow(mainDir, goneB.session_id).revoked_at,
  );
  expectReason(goneA, "user_deleted");
  expectReason(goneB, "user_deleted");
  const refused = await api.create({ user_id: "u-deleted" });
  expect(refused.status).toBe(409);
  expect(((await refused.json()) as { error: string }).error).toBe("user_deleted");

  // refresh_token_reuse: the rotated-away token presented after the 1 s grace window.
  await Bun.sleep(Math.max(0, reuseRotatedAt + 1_200 - Date.now()));
  const reused = await api.refresh(reuse.refresh_token);
  expect(reused.status).toBe(401);
  expectReason(reuse, "refresh_token_reuse");

  // ---- read everything back ----
  const expectedCount = [...tracked.values()].reduce((n, t) => n + (t.reason ? 2 : 1), 0);
  expect(expectedCount).toBe(26);
  await waitFor(
    "every outbox row relayed",
    async () =>
      outboxState(mainDir).unsent === 0 &&
      outboxState(limitDir).unsent === 0 &&
      (await bus.count("SESSIONS")) >= expectedCount,
    15_000,
  );
  const messages = await bus.readAll("SESSIONS");
  // Exactly the outbox rows, each once: a revoke that changed nothing wrote no row at all.
  const outboxIds = [...outboxState(mainDir).ids, ...outboxState(limitDir).ids];
  expect(outboxIds.length).toBe(expectedCount);
  expect(messages.length).toBe(expectedCount);
  const docs = messages.map(cloudEvent);
  expect(new Set(docs.map((d) => d.id)).size).toBe(expectedCount);
  expect(new Set(docs.map((d) => d.id))).toEqual(new Set(outboxIds));
  const finishedAt = Date.now();

  const grouped = bySession(docs);
  expect(new Set(grouped.keys())).toEqual(new Set(tracked.keys()));
  const reasonsSeen = new Set<string>();
  for (const [sessionId, info] of tracked) {
    const events = grouped.get(sessionId)!;
    // created first, revoked after (stream order), nothing else.
    expect(events.map((e) => e.type)).toEqual(
      info.reason ? ["session.created", "session.revoked"] : ["session.created"],
    );
    const row = dbRow(info.dir, sessionId);
    const [created, revoked] = events as [SessionEvent, SessionEvent | undefined];
    expect(created.data).toEqual({
      session_id: sessionId,
      user_id: info.userId,
      user_agent: info.userAgent,
      ip: info.ip,
      created_at: new Date(row.created_at).toISOString(),
      expires_at: info.pairs[0]!.refresh_token_expires_at,
      bound: false,
    });
    for (const event of events) {
      expect(Date.parse(event.time)).toBeGreaterThanOrEqual(startedAt - 1);
      expect(Date.parse(event.time)).toBeLessThanOrEqual(finishedAt);
    }
    if (!revoked) {
      expect(row.revoked_at).toBeNull();
      continue;
    }
    expect(row.revoke_reason).toBe(info.reason!);
    expect(revoked.data).toEqual({
      session_id: sessionId,
      user_id: info.userId,
      reason: info.reason,
      revoked_at: new Date(row.revoked_at!).toISOString(),
      access_token_expires_at: latestExp(info.pairs.map((p) => p.access_token)),
    });
    reasonsSeen.add(info.reason!);
  }
  expect([...reasonsSeen].sort()).toEqual(
    ["admin", "logout", "logout_all", "logout_others", "refresh_token_reuse", "session_limit", "user_deleted"].sort(),
  );
  // The refreshed sessions really had a later exp than their create (else the check above proves little).
  expect(latestExp([reuse.access_token])).not.toBe(
    latestExp(tracked.get(reuse.session_id)!.pairs.map((p) => p.access_token)),
  );

  // No token, token hash, nonce, service key or key material anywhere in the stream.
  const secrets = secretsOf(everyPair, [mainDir, limitDir]);
  expect(secrets.length).toBeGreaterThan(everyPair.length * 3);
  expect(leakedSecrets(messages, secrets)).toEqual([]);
  // The scan itself does find a secret when one is there.
  expect(
    leakedSecrets([{ ...messages[0]!, text: messages[0]!.text + everyPair[0]!.refresh_token }], secrets),
  ).toHaveLength(1);
}, 60_000);
