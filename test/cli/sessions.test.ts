/** list, show, stats and revoke against a real store with no server running. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { type Seeded, seedStore } from "./seed";
import { countRows, outboxEvents, readStore, sessionctl, sessionctlJson } from "./support";

const SESSION_OBJECT_KEYS = [
  "session_id",
  "user_id",
  "user_agent",
  "ip",
  "created_at",
  "last_used_at",
  "expires_at",
  "name",
  "device",
  "status",
  "revoked_at",
  "revoke_reason",
].sort();

let dir: string;
let seeded: Seeded;
beforeAll(async () => {
  dir = tempDir("sessionctl-sessions-");
  seeded = await seedStore(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Nothing secret of the store may appear in CLI output: no refresh token, no stored hash. */
function expectNoSecrets(output: string) {
  for (const token of seeded.refreshTokens) expect(output).not.toContain(token);
  const hashes = readStore(
    dir,
    (db) => db.query("select refresh_token_hash as h from sessions").all() as Array<{ h: string }>,
  );
  for (const { h } of hashes) expect(output).not.toContain(h);
}

describe("list", () => {
  test("--json prints an array of session objects with the contract's fields, newest first", async () => {
    const list = await sessionctlJson<any[]>(dir, ["list"]);
    expect(list.map((s) => s.session_id).sort()).toEqual(
      [seeded.oldRevoked, seeded.oldExpired, seeded.active, seeded.other].sort(),
    );
    for (const s of list) expect(Object.keys(s).sort()).toEqual(SESSION_OBJECT_KEYS);
    expect(Date.parse(list[0].created_at)).toBeGreaterThanOrEqual(Date.parse(list.at(-1).created_at));

    const byId = new Map(list.map((s) => [s.session_id, s]));
    expect(byId.get(seeded.active)).toMatchObject({
      user_id: "alice",
      status: "active",
      ip: "2001:db8::1",
      revoked_at: null,
      revoke_reason: null,
      device: { browser: "Firefox", browser_version: "140.0", os: "Linux", os_version: null, type: "desktop" },
    });
    expect(byId.get(seeded.other).device).toBeNull(); // carol's session has no user agent
    expect(byId.get(seeded.oldRevoked).device).toEqual({
      browser: null,
      browser_version: null,
      os: null,
      os_version: null,
      type: "other",
    });
    expect(byId.get(seeded.oldRevoked)).toMatchObject({ user_id: "alice", status: "revoked", revoke_reason: "logout" });
    expect(byId.get(seeded.oldRevoked).revoked_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(byId.get(seeded.oldExpired)).toMatchObject({ user_id: "bob", status: "expired", revoked_at: null });
  });

  test("--user, --status and --limit narrow the list", async () => {
    const alice = await sessionctlJson<any[]>(dir, ["list", "--user", "alice", "--status", "active"]);
    expect(alice.map((s) => s.session_id)).toEqual([seeded.active]);
    expect((await sessionctlJson<any[]>(dir, ["list", "--status", "expired"])).map((s) => s.session_id)).toEqual([
      seeded.oldExpired,
    ]);
    expect(await sessionctlJson<any[]>(dir, ["list", "--limit", "1"])).toHaveLength(1);
    expect(await sessionctlJson<any[]>(dir, ["list", "--user", "nobody"])).toEqual([]);
  });

  test("without --json it prints a plain table when stdout is not a terminal, and no secrets", async () => {
    const result = await sessionctl(dir, ["list"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^SESSION_ID\s+USER_ID\s+STATUS\s+NAME\s+CREATED\s+LAST_USED\s+EXPIRES\s+IP\s+DEVICE\s+USER_AGENT$/,
    );
    const active = lines.find((line) => line.startsWith(seeded.active))!;
    expect(active).toMatch(/\s2001:db8::1\s+Firefox on Linux\s+Mozilla\/5\.0 /);
    expect(lines).toHaveLength(5);
    expect(result.stdout).toContain("revoked (logout)");
    expect(result.stdout).not.toMatch(/[\u001b│─┌┐└┘]/);
    expectNoSecrets(result.stdout);
    expectNoSecrets((await sessionctl(dir, ["list", "--json"])).stdout);
  });
});

describe("show", () => {
  test("--json prints the same session object as list", async () => {
    const [fromList] = await sessionctlJson<any[]>(dir, ["list", "--user", "carol"]);
    expect(await sessionctlJson(dir, ["show", seeded.other])).toEqual(fromList);
  });

  test("prints a name/value table for people", async () => {
    const result = await sessionctl(dir, ["show", seeded.active]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^session_id\\s+${seeded.active}$`, "m"));
    expect(result.stdout).toMatch(/^status\s+active$/m);
    expect(result.stdout).toMatch(/^revoked_at\s+-$/m);
    expect(result.stdout).toMatch(/^device\s+Firefox on Linux$/m);
    expect(result.stdout).toMatch(/^device_type\s+desktop$/m);
    expectNoSecrets(result.stdout);
  });

  test("an unknown session exits 3 naming it", async () => {
    const unknown = "0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e";
    const result = await sessionctl(dir, ["show", unknown]);
    expect(result).toMatchObject({ code: 3, stdout: "" });
    expect(result.stderr).toBe(`sessionctl: no session ${unknown}\n`);
  });

  test("something that is not a session id (say a pasted token) exits 3 without echoing it", async () => {
    const result = await sessionctl(dir, ["show", seeded.refreshTokens[3]]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^sessionctl: no session[^\n]*\n$/);
    expectNoSecrets(result.stderr);
  });
});

test("stats --json has exactly the contract's shape and counts", async () => {
  const stats = await sessionctlJson(dir, ["stats"]);
  expect(Object.keys(stats).sort()).toEqual(["events", "sessions", "users"]);
  expect(stats.sessions).toEqual({ active: 2, revoked: 1, expired: 1 });
  expect(stats.users).toBe(2); // alice and carol have an active session
  expect(Object.keys(stats.events).sort()).toEqual(["oldest_pending_age_seconds", "pending"]);
  expect(stats.events.pending).toBe(3); // bob's old created event and the two new ones
  // bob's session.created has waited since 40 days ago.
  expect(stats.events.oldest_pending_age_seconds).toBeGreaterThanOrEqual(40 * 86_400 - 5);
  expect(stats.events.oldest_pending_age_seconds).toBeLessThan(40 * 86_400 + 120);

  const table = await sessionctl(dir, ["stats"]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^active sessions\s+2$/m);
  expect(table.stdout).toMatch(/^events waiting to be relayed\s+3$/m);
});

describe("revoke (no server running)", () => {
  test("revokes a session with reason admin and writes the same session.revoked event a logout does", async () => {
    const before = outboxEvents(dir).length;
    const result = await sessionctl(dir, ["revoke", seeded.active, "--reason", "stolen laptop, ticket 42"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`Revoked session ${seeded.active} (reason admin). Note: "stolen laptop, ticket 42".\n`);

    const events = outboxEvents(dir);
    expect(events).toHaveLength(before + 1);
    const admin = events.at(-1)!;
    expect(admin).toMatchObject({ subject: "session.revoked", sentAt: null });
    expect(admin.event).toMatchObject({ type: "session.revoked", subject: seeded.active });
    expect(admin.event.data).toMatchObject({ session_id: seeded.active, user_id: "alice", reason: "admin" });
    // The operator's note is not part of the event: consumers get the contract's shape only.
    expect(JSON.stringify(admin.event)).not.toContain("ticket 42");
    const logout = events.find((e) => e.subject === "session.revoked" && e.event.data.reason === "logout")!;
    expect(Object.keys(admin.event).sort()).toEqual(Object.keys(logout.event).sort());
    expect(Object.keys(admin.event.data).sort()).toEqual(Object.keys(logout.event.data).sort());

    const row = readStore(dir, (db) =>
      db.query("select revoke_reason, revoked_at from sessions where session_id = ?").get(seeded.active),
    ) as any;
    expect(row.revoke_reason).toBe("admin");
    expect(Math.abs(row.revoked_at - Date.now())).toBeLessThan(60_000);
  });

  test("revoking it again changes nothing and emits nothing", async () => {
    const before = outboxEvents(dir).length;
    const result = await sessionctl(dir, ["revoke", seeded.active]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("already ended (revoked); nothing changed");
    expect(outboxEvents(dir)).toHaveLength(before);
  });

  test("an unknown session exits 3 and changes nothing", async () => {
    const before = outboxEvents(dir).length;
    const result = await sessionctl(dir, ["revoke", "0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e"]);
    expect(result).toMatchObject({ code: 3, stdout: "" });
    expect(result.stderr).toMatch(/^sessionctl: no session 0193a5c2-[^\n]+\n$/);
    expect(outboxEvents(dir)).toHaveLength(before);
  });

  test("--user revokes every active session of the user, one event each", async () => {
    const before = outboxEvents(dir).length;
    const result = await sessionctl(dir, ["revoke", "--user", "carol"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Revoked 1 active session of user carol (reason admin).\n");
    const added = outboxEvents(dir).slice(before);
    expect(added.map((e) => [e.subject, e.event.data.session_id, e.event.data.reason])).toEqual([
      ["session.revoked", seeded.other, "admin"],
    ]);
    expect(countRows(dir, "sessions", `revoked_at is null and expires_at > ${Date.now()}`)).toBe(0);

    const again = await sessionctl(dir, ["revoke", "--user", "carol"]);
    expect(again).toMatchObject({ code: 0, stdout: "Revoked 0 active sessions of user carol (reason admin).\n" });
  });
});
