/** Request logs with request ids, log levels, and a clean SIGTERM under load, against the real server. */
import { afterAll, describe, expect, test } from "bun:test";
import { SERVICE_KEY, TempDirs } from "../support/core";
import { client, openDbReadOnly, type Pair, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dirs = new TempDirs();
const dir = () => dirs.make();
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

const logLines = (logs: string) =>
  logs
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("request logs", () => {
  test("one JSON line per request with the request id, which is echoed; forged user agents stay one field", async () => {
    const server = await pool.start(dir());
    const forged = 'curl" , "level":60, "msg":"owned\\u000a{"level":60}';
    const response = await fetch(`${server.url}/session`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${SERVICE_KEY}`,
        "x-request-id": "req-abc.123",
        "user-agent": forged,
      },
      body: JSON.stringify({ user_id: "logged" }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-request-id")).toBe("req-abc.123");
    const pair = (await response.json()) as Pair;

    const insane = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "has spaces and ; semicolons" } });
    const generated = insane.headers.get("x-request-id")!;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    // A request line is written after its answer is sent: wait for both lines, not a fixed time.
    const lines = await waitFor("both request lines", () => {
      const all = logLines(server.logs());
      return all.some((l) => l.req_id === "req-abc.123") && all.some((l) => l.req_id === generated) ? all : null;
    });
    const line = lines.find((l) => l.req_id === "req-abc.123")!;
    expect(line).toMatchObject({ level: 30, msg: "request", method: "POST", route: "/session", status: 201 });
    expect(line.user_agent).toBe(forged);
    expect(lines.some((l) => l.req_id === generated && l.route === "/healthz")).toBe(true);
    expect(lines.every((l) => l.level !== 60)).toBe(true);
    expect(server.logs()).not.toContain(SERVICE_KEY);
    expect(server.logs()).not.toContain(pair.refresh_token);
    expect(server.logs()).not.toContain(pair.access_token);
  });

  test("route labels never carry ids", async () => {
    const server = await pool.start(dir());
    const api = client(server.url);
    const pair = (await (await api.create({ user_id: "ids" })).json()) as Pair;
    await api.logout(pair.access_token, pair.session_id);
    const line = await waitFor("the DELETE request line", () =>
      logLines(server.logs()).find((l) => l.method === "DELETE"),
    );
    expect(line.route).toBe("/session/:id");
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('route="/session/:id"');
    expect(metrics).not.toContain(pair.session_id);
    expect(metrics).not.toContain("ids");
  });

  test("LOG_LEVEL=warn drops request and lifecycle lines, keeps warnings", async () => {
    const quiet = await pool.start(dir(), { LOG_LEVEL: "warn" });
    const api = client(quiet.url);
    expect((await api.create({ user_id: "quiet" })).status).toBe(201);
    await quiet.stop();
    expect(logLines(quiet.logs()).filter((l) => (l.level as number) < 40)).toEqual([]);

    const loud = await pool.start(dir(), { LOG_LEVEL: "debug" });
    expect((await client(loud.url).create({ user_id: "loud" })).status).toBe(201);
    await waitFor("the request line", () => logLines(loud.logs()).some((l) => l.msg === "request"));
  });
});

describe("SIGTERM", () => {
  test("requests in flight finish, the process exits 0, nothing is half-written", async () => {
    const d = dir();
    const server = await pool.start(d);
    const api = client(server.url);
    const seeded = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => (await (await api.create({ user_id: `u${i % 8}` })).json()) as Pair),
    );
    // A burst of writes, and SIGTERM while they are in flight.
    const burst = [
      ...seeded.map((pair) => api.refresh(pair.refresh_token)),
      ...Array.from({ length: 60 }, (_, i) => api.create({ user_id: `burst-${i}` })),
    ].map((p) => p.then((r) => ({ status: r.status, body: r.json() })).catch((error: Error) => ({ status: 0, error })));
    await Bun.sleep(5);
    server.proc.kill("SIGTERM");
    const results = await Promise.all(burst);
    const exit = await server.exited();

    expect(exit).toBe(0);
    // Every request got a whole answer: no reset, no 5xx.
    expect(results.filter((r) => r.status === 0)).toEqual([]);
    expect(results.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(server.logs()).toContain("stopped");

    const db = openDbReadOnly(d);
    try {
      expect(db.query("pragma integrity_check").get()).toEqual({ integrity_check: "ok" });
      const sessions = db.query("select count(*) as n from sessions").get() as { n: number };
      expect(sessions.n).toBe(100);
      const rotations = db.query("select sum(rotation_count) as n from sessions").get() as { n: number };
      expect(rotations.n).toBe(40);
    } finally {
      db.close();
    }
  });
});
