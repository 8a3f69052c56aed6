/** PATCH /session/{id} (CONTRACT §3): the owner names a session; nothing else changes, no event. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { bearer, openTestApp, serviceAuth } from "../support/core";
import { expectError, json, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
});
afterAll(() => t.close());

const patch = (id: string, token: string, body: unknown) =>
  t.call("PATCH", `/session/${id}`, { body, headers: bearer(token) });

describe("PATCH /session/{id}", () => {
  let alice: Awaited<ReturnType<typeof openSession>>;
  let bob: Awaited<ReturnType<typeof openSession>>;
  beforeEach(async () => {
    alice = await openSession(t, { user_id: "alice", user_agent: "ua-alice" });
    bob = await openSession(t, { user_id: "bob" });
  });

  test("names the session: 200 with the session as /session/me lists it; no last_used_at move, no event", async () => {
    const other = await openSession(t, { user_id: "alice" });
    const before = (await t.core.store.sessions.findSession(other.session_id))!;
    const events = (await t.core.store.outbox.pendingEvents(10_000)).length;
    t.clock.advance(60_000);
    const res = await patch(other.session_id, alice.access_token, { name: "Work laptop 💻" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await json(res);
    expect(body).toMatchObject({ session_id: other.session_id, name: "Work laptop 💻", current: false });
    const listed = (await json(await t.call("GET", "/session/me", { headers: bearer(alice.access_token) }))).sessions;
    expect(listed.find((s: { session_id: string }) => s.session_id === other.session_id)).toEqual(body);
    expect(await t.core.store.sessions.findSession(other.session_id)).toEqual({ ...before, name: "Work laptop 💻" });
    expect((await t.core.store.outbox.pendingEvents(10_000)).length).toBe(events);

    const cleared = await json(await patch(other.session_id, alice.access_token, { name: null }));
    expect(cleared.name).toBeNull();
    const own = await json(await patch(alice.session_id, alice.access_token, { name: "this one" }));
    expect(own).toMatchObject({ name: "this one", current: true });
  });

  test("foreign, unknown, ended and non-UUID ids: identical 404s, nothing changes", async () => {
    const ended = await openSession(t, { user_id: "alice" });
    await t.call("DELETE", `/session/${ended.session_id}`, { headers: bearer(alice.access_token) });
    const before = await snapshot(t.core);
    const answers = [];
    for (const id of [bob.session_id, "019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11", ended.session_id, "not-a-uuid", "all"]) {
      const res = await patch(id, alice.access_token, { name: "x" });
      answers.push(await expectError(res, 404, "not_found", [id, "bob"]));
    }
    expect(new Set(answers).size).toBe(1);
    expect(await snapshot(t.core)).toBe(before);
  });

  test.each([
    ["empty", ""],
    ["65 characters", "n".repeat(65)],
    ["a control character", "tab\there"],
    ["DEL", "del\u007f"],
    ["a lone surrogate", "bad\ud800"],
  ])("a name with %s is 400 invalid_request, not echoed, nothing changes", async (_, name) => {
    const before = await snapshot(t.core);
    const res = await patch(alice.session_id, alice.access_token, { name });
    await expectError(res, 400, "invalid_request", name ? [name] : []);
    expect(await snapshot(t.core)).toBe(before);
  });

  test("64 characters (code points) is fine; a missing or non-string name is 400", async () => {
    const name = `${"é".repeat(63)}🦊`;
    expect((await json(await patch(alice.session_id, alice.access_token, { name }))).name).toBe(name);
    await expectError(await patch(alice.session_id, alice.access_token, {}), 400, "invalid_request");
    await expectError(await patch(alice.session_id, alice.access_token, { name: 7 }), 400, "invalid_request");
  });

  test("without a valid access token: 401 invalid_token", async () => {
    const res = await t.call("PATCH", `/session/${alice.session_id}`, { body: { name: "x" } });
    await expectError(res, 401, "invalid_token");
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    await expectError(await patch(alice.session_id, "garbage", { name: "x" }), 401, "invalid_token");
  });
});

describe("POST /session with dpop_jkt", () => {
  test("binds the session: refresh_token_bound in the answer, bound in validate, me and session.created", async () => {
    const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    const res = await t.call("POST", "/session", { body: { user_id: "carol", dpop_jkt: jkt }, headers: serviceAuth });
    expect(res.status).toBe(201);
    const pair = await json(res);
    expect(pair).toMatchObject({ token_type: "Bearer", refresh_token_bound: true });
    const validated = await json(
      await t.call("POST", "/session/validate", { body: { refresh_token: pair.refresh_token }, headers: serviceAuth }),
    );
    expect(validated).toMatchObject({ active: true, bound: true });
    const me = (await json(await t.call("GET", "/session/me", { headers: bearer(pair.access_token) }))).sessions;
    expect(me[0].bound).toBe(true);
    const created = (await t.core.store.outbox.pendingEvents(10_000))
      .map((row) => JSON.parse(row.payload))
      .find((e) => e.subject === pair.session_id);
    expect(created.data.bound).toBe(true);
    // An unbound session carries no binding anywhere.
    const plain = await openSession(t, { user_id: "carol" });
    expect("refresh_token_bound" in plain).toBe(false);
  });

  test.each([
    ["too short", "A".repeat(42)],
    ["too long", "A".repeat(44)],
    ["not base64url", `${"A".repeat(42)}=`],
    ["empty", ""],
  ])("a malformed dpop_jkt (%s) is 400 invalid_request and opens nothing", async (_, jkt) => {
    const before = await snapshot(t.core);
    const res = await t.call("POST", "/session", { body: { user_id: "dave", dpop_jkt: jkt }, headers: serviceAuth });
    await expectError(res, 400, "invalid_request", jkt ? [jkt] : []);
    expect(await snapshot(t.core)).toBe(before);
  });
});
