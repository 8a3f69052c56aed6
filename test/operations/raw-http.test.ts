/**
 * The real server over raw sockets: routing follows the requested path whatever the Host header
 * (a short one, an empty or malformed one, none at all), and chunked bodies are held to the
 * 16 KiB cap on every route, unknown ones too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SERVICE_KEY, TempDirs } from "../support/core";
import { chunk, rawRequest } from "../support/raw-http";
import { type RunningServer, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dirs = new TempDirs();
let server: RunningServer;
beforeAll(async () => {
  server = await pool.start(dirs.make());
});
afterAll(async () => {
  await pool.killAll();
  dirs.removeAll();
});

const get = (path: string, hostLine: string, version = "HTTP/1.1") =>
  rawRequest(server.port, `GET ${path} ${version}\r\n${hostLine}Connection: close\r\n\r\n`);

const HOSTS: Array<[string, string]> = [
  ["Host: a", "Host: a\r\n"],
  ["Host: ab", "Host: ab\r\n"],
  ["Host: abc", "Host: abc\r\n"],
  ["an empty Host", "Host: \r\n"],
  ["a malformed Host", "Host: a b\r\n"],
  ["Host: a:1", "Host: a:1\r\n"],
];

describe("routing does not depend on the Host header", () => {
  test.each(HOSTS)("%s: GET /session/metrics is not /metrics (404 not_found)", async (_label, hostLine) => {
    const res = await get("/session/metrics", hostLine);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: "not_found", message: expect.any(String) });
    expect(res.body).not.toContain("http_requests_total");
  });

  test("no Host at all (HTTP/1.0): GET /session/abcdefghij/metrics is 404, not /metrics", async () => {
    const res = await get("/session/abcdefghij/metrics", "", "HTTP/1.0");
    expect(res.status).toBe(404);
    expect(res.body).not.toContain("http_requests_total");
  });

  test.each(HOSTS)("%s: GET /metrics is served", async (_label, hostLine) => {
    const res = await get("/metrics", hostLine);
    expect(res.status).toBe(200);
    expect(res.body).toContain("http_requests_total");
  });

  test("Host: a: POST /session works, and every log line names the route that was requested", async () => {
    const body = JSON.stringify({ user_id: "short-host" });
    const res = await rawRequest(
      server.port,
      `POST /session HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${SERVICE_KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBe(201);
    expect((await get("/session/metrics", "Host: a\r\n")).status).toBe(404);
    expect((await get("/metrics", "Host: a\r\n")).status).toBe(200);
    const requestLines = () =>
      server
        .logs()
        .split("\n")
        .filter((line) => line.includes('"msg":"request"'))
        .map((line) => JSON.parse(line) as { method: string; route: string; status: number });
    const seen = (method: string, route: string, status: number) =>
      requestLines().some((l) => l.method === method && l.route === route && l.status === status);
    await waitFor("the request log lines", () => seen("POST", "/session", 201) && seen("GET", "/metrics", 200));
    expect(seen("GET", "/session/:id", 404)).toBe(true);
    // /session/metrics was never served as /metrics under the /session/:id label.
    expect(seen("GET", "/session/:id", 200)).toBe(false);
  });
});

describe("chunked bodies on the real server", () => {
  const big = `${chunk("x".repeat(10_000)).repeat(4)}0\r\n\r\n`;
  test.each([
    ["POST", "/no/such/route"],
    ["DELETE", "/session/all"],
    ["DELETE", "/session/019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11"],
    ["PUT", "/session"],
    ["POST", "/session"],
  ])("%s %s with a 40 KB chunked body: 413 with the JSON error body", async (method, path) => {
    const res = await rawRequest(
      server.port,
      `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`,
      big,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: "payload_too_large", message: expect.any(String) });
  });

  test("a small chunked body is read like any other", async () => {
    const res = await rawRequest(
      server.port,
      `POST /session HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${SERVICE_KEY}\r\nTransfer-Encoding: chunked\r\n` +
        "Content-Type: application/json\r\nConnection: close\r\n\r\n",
      `${chunk('{"user_id":')}${chunk('"chunked"}')}0\r\n\r\n`,
    );
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).user_id).toBe("chunked");
  });

  test("a GET with a declared body over the cap: 413", async () => {
    const res = await rawRequest(
      server.port,
      "GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20000\r\nConnection: close\r\n\r\n",
      "x".repeat(20_000),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toBe("payload_too_large");
  });
});
