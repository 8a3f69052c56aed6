/**
 * Bad input on the JSON endpoints: each case asserts status, error code, that the body does not
 * echo the input, and that the store did not change. Never a 500.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { openTestApp, serviceAuth } from "../support/core";
import { expectError, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
let before: string;
let refreshToken: string;
beforeAll(async () => {
  t = await openTestApp();
  refreshToken = (await openSession(t, { user_id: "existing" })).refresh_token;
});
afterAll(() => t.close());
beforeEach(async () => {
  before = await snapshot(t.core);
});
const unchanged = async () => expect(await snapshot(t.core)).toBe(before);

const JSON_ENDPOINTS = ["/session", "/session/refresh", "/session/validate", "/session/revoke"];
/** Like a real client: Content-Length is the byte length of the body (app.handle does not add it). */
const post = (path: string, rawBody: string, headers: Record<string, string> = {}) =>
  t.app.handle(
    new Request(`http://localhost${path}`, {
      method: "POST",
      body: rawBody,
      headers: { ...serviceAuth, "content-length": String(Buffer.byteLength(rawBody)), ...headers },
    }),
  );

describe("oversize bodies: 413 before parsing", () => {
  const secret = "SECRETVALUE-oversize";
  const big = JSON.stringify({ user_id: secret, refresh_token: secret, pad: "x".repeat(17 * 1024) });

  test.each(JSON_ENDPOINTS)("%s with Content-Length", async (path) => {
    await expectError(await post(path, big, { "content-type": "application/json" }), 413, "payload_too_large", [
      secret,
    ]);
    await unchanged();
  });

  test("a body of exactly 16 KiB is parsed; one byte more is refused", async () => {
    const pad = (n: number) => JSON.stringify({ refresh_token: "nope", pad: "x".repeat(n) });
    const base = pad(0).length;
    const exact = pad(16 * 1024 - base);
    expect(exact.length).toBe(16 * 1024);
    const ok = await post("/session/validate", exact, { "content-type": "application/json" });
    expect(ok.status).toBe(200);
    await expectError(
      await post("/session/validate", pad(16 * 1024 - base + 1), { "content-type": "application/json" }),
      413,
      "payload_too_large",
    );
  });

  test("a declared Content-Length over the cap is refused without reading the body", async () => {
    const res = await post("/session", JSON.stringify({ user_id: secret }), {
      "content-type": "application/json",
      "content-length": "16385",
    });
    await expectError(res, 413, "payload_too_large", [secret]);
    await unchanged();
  });

  test("not valid JSON but oversize: still 413 (size is decided first)", async () => {
    await expectError(
      await post("/session", "{".repeat(20_000), { "content-type": "application/json" }),
      413,
      "payload_too_large",
    );
    await expectError(
      await post("/session", "x".repeat(20_000), { "content-type": "text/plain" }),
      413,
      "payload_too_large",
    );
  });

  test.each(JSON_ENDPOINTS)("%s with a chunked body that carries no Content-Length", async (path) => {
    const chunk = new TextEncoder().encode(big.slice(0, 4096));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // An endless body: the server must stop reading at the cap, not wait for the end.
        sent++;
        if (sent > 1000) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const request = new Request(`http://localhost${path}`, {
      method: "POST",
      body,
      headers: { ...serviceAuth, "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("content-length")).toBeNull();
    await expectError(await t.app.handle(request), 413, "payload_too_large", [secret]);
    expect(sent).toBeLessThan(20);
    await unchanged();
  });
});

describe("content type: 415", () => {
  const body = JSON.stringify({ user_id: "SECRETVALUE-ct", refresh_token: "SECRETVALUE-ct" });
  const types = [
    "text/plain",
    "application/json; charset=latin1",
    "application/json; charset=iso-8859-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "",
  ];
  for (const path of JSON_ENDPOINTS) {
    test.each(types)(`${path} with %j`, async (type) => {
      await expectError(await post(path, body, type ? { "content-type": type } : {}), 415, "unsupported_media_type", [
        "SECRETVALUE-ct",
      ]);
      await unchanged();
    });
  }

  test("application/json with charset=utf-8 (any case) is accepted", async () => {
    for (const type of [
      "application/json; charset=utf-8",
      "Application/JSON;charset=UTF-8",
      'application/json; charset="utf-8"',
    ]) {
      const res = await post("/session/validate", JSON.stringify({ refresh_token: "x" }), { "content-type": type });
      expect(res.status).toBe(200);
    }
  });
});

describe("malformed JSON and wrong shapes: 400 invalid_request", () => {
  const malformed = [
    '{"user_id": "SECRETVALUE-mj"',
    "{user_id: 'SECRETVALUE-mj'}",
    "",
    " ",
    "nul",
    '{"a":1}}',
    "\ufeff{}",
  ];
  for (const path of JSON_ENDPOINTS) {
    test.each(malformed)(`${path} malformed %j`, async (raw) => {
      await expectError(await post(path, raw, { "content-type": "application/json" }), 400, "invalid_request", [
        "SECRETVALUE-mj",
      ]);
      await unchanged();
    });
  }

  test.each(JSON_ENDPOINTS)("%s with bytes that are not UTF-8", async (path) => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const res = await t.app.handle(
      new Request(`http://localhost${path}`, {
        method: "POST",
        body: bytes,
        headers: { ...serviceAuth, "content-type": "application/json" },
      }),
    );
    await expectError(res, 400, "invalid_request");
    await unchanged();
  });

  const shapes = [
    "null",
    "[]",
    '"SECRETVALUE-sh"',
    "1",
    "0",
    "true",
    "false",
    "{}",
    '[{"user_id":"SECRETVALUE-sh","refresh_token":"SECRETVALUE-sh"}]',
  ];
  for (const path of JSON_ENDPOINTS) {
    test.each(shapes)(`${path} body %s`, async (raw) => {
      await expectError(await post(path, raw, { "content-type": "application/json" }), 400, "invalid_request", [
        "SECRETVALUE-sh",
      ]);
      await unchanged();
    });
  }

  const wrongFields: Array<[string, unknown]> = [
    ["/session", { user_id: 42 }],
    ["/session", { user_id: null }],
    ["/session", { user_id: ["SECRETVALUE-wf"] }],
    ["/session", { user_id: { $ne: "SECRETVALUE-wf" } }],
    ["/session", { user_id: "ok", user_agent: 5 }],
    ["/session", { user_id: "ok", user_agent: null }],
    ["/session", { user_id: "ok", ip: 3232235777 }],
    ["/session", { user_id: "ok", ip: ["SECRETVALUE-wf"] }],
    ["/session", { user_agent: "SECRETVALUE-wf" }],
    ["/session/refresh", { refresh_token: 123 }],
    ["/session/refresh", { refresh_token: null }],
    ["/session/refresh", { refresh_token: ["SECRETVALUE-wf"] }],
    ["/session/refresh", { refresh_token: { $gt: "" } }],
    ["/session/refresh", { token: "SECRETVALUE-wf" }],
    ["/session/refresh", { refresh_token: "x", ip: 7 }],
    ["/session/validate", { refresh_token: true }],
    ["/session/validate", {}],
    ["/session/revoke", { refresh_token: 1 }],
    ["/session/revoke", { refresh_token: ["SECRETVALUE-wf"] }],
  ];
  test.each(wrongFields)("%s %j", async (path, body) => {
    await expectError(
      await post(path, JSON.stringify(body), { "content-type": "application/json" }),
      400,
      "invalid_request",
      ["SECRETVALUE-wf"],
    );
    await unchanged();
  });
});

describe("POST /session field rules", () => {
  const create = (body: unknown) => post("/session", JSON.stringify(body), { "content-type": "application/json" });

  test.each([
    ["empty", ""],
    ["129 characters", "SECRETVALUE-".padEnd(129, "u")],
    ["NUL", "SECRETVALUE-\u0000"],
    ["newline", "SECRETVALUE-\nid"],
    ["tab", "SECRETVALUE-\tid"],
    ["DEL", "SECRETVALUE-\u007f"],
    ["C1 NEL", "SECRETVALUE-\u0085"],
    ["lone high surrogate", "\ud800"],
    ["lone surrogate with text", "SECRETVALUE-\udfff"],
  ])("user_id %s: 400", async (_, userId) => {
    await expectError(await create({ user_id: userId }), 400, "invalid_request", [userId, "SECRETVALUE-"]);
    await unchanged();
  });

  test("a lone surrogate written as a raw JSON escape is refused", async () => {
    await expectError(
      await post("/session", '{"user_id":"\\ud800"}', { "content-type": "application/json" }),
      400,
      "invalid_request",
    );
    await unchanged();
  });

  test.each([
    "1.2.3",
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3.4:80",
    "[2001:db8::1]",
    "[2001:db8::1]:443",
    "fe80::1%eth0",
    "fe80::1%25eth0",
    "::1/128",
    " 1.2.3.4",
    "localhost",
    "SECRETVALUE-ip",
    "1.2.3.4\u0000",
    "",
  ])("ip %j: 400", async (ip) => {
    await expectError(await create({ user_id: "u-ip", ip }), 400, "invalid_request", [ip]);
    await unchanged();
  });

  test.each(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "typ"])(
    "registered claim %s: 400",
    async (name) => {
      await expectError(
        await create({ user_id: "u-cl", claims: { [name]: "SECRETVALUE-claim" } }),
        400,
        "invalid_request",
        ["SECRETVALUE-claim"],
      );
      await unchanged();
    },
  );

  test.each([[null], [[]], [["SECRETVALUE-claim"]], ["SECRETVALUE-claim"], [7], [true]])(
    "claims %j (not an object): 400",
    async (claims) => {
      await expectError(await create({ user_id: "u-cl", claims }), 400, "invalid_request", ["SECRETVALUE-claim"]);
      await unchanged();
    },
  );

  test("claims over 2 KiB: 400", async () => {
    await expectError(
      await create({ user_id: "u-cl", claims: { blob: "SECRETVALUE-".padEnd(2100, "x") } }),
      400,
      "invalid_request",
      ["SECRETVALUE-"],
    );
    await unchanged();
  });

  test("an unauthenticated caller gets 401 invalid_client whatever the body", async () => {
    const res = await t.app.handle(
      new Request("http://localhost/session", {
        method: "POST",
        body: JSON.stringify({ user_id: "SECRETVALUE-x" }),
        headers: { "content-type": "application/json" },
      }),
    );
    await expectError(res, 401, "invalid_client", ["SECRETVALUE-x"]);
    await unchanged();
  });

  test("refresh with a valid token but a bad ip: 400 and no rotation", async () => {
    const res = await post("/session/refresh", JSON.stringify({ refresh_token: refreshToken, ip: "999.1.1.1" }), {
      "content-type": "application/json",
    });
    await expectError(res, 400, "invalid_request", [refreshToken, "999.1.1.1"]);
    await unchanged();
  });
});

describe("never a 500", () => {
  const paths = [
    "/session",
    "/session/refresh",
    "/session/validate",
    "/session/revoke",
    "/session/all",
    "/session/me",
    "/session/019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11",
    "/session/%",
    "/session/%ZZ",
    "/.well-known/jwks.json",
    "/healthz",
    "/readyz",
  ];
  const bodies: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ["application/json", "{"],
    ["application/json", "null"],
    ["application/json", '{"refresh_token":{"__proto__":{"x":1}},"user_id":{"constructor":1}}'],
    ["application/json", '{"__proto__":{"user_id":"x"}}'],
    [
      "application/json",
      JSON.stringify({ user_id: "u", claims: { __proto__: { a: 1 }, constructor: { prototype: 1 } } }),
    ],
    ["application/json", "[".repeat(5000) + "]".repeat(5000)],
    ["text/plain", "hello"],
    ["multipart/form-data; boundary=x", "--x\r\n\r\n--x--"],
  ];
  test("every method, path and body combination answers below 500 with a JSON error or success", async () => {
    for (const method of ["GET", "POST", "PUT", "DELETE"]) {
      for (const path of paths) {
        for (const [type, body] of bodies) {
          if (body !== undefined && (method === "GET" || method === "HEAD")) continue;
          for (const auth of [{}, serviceAuth]) {
            const headers: Record<string, string> = { ...auth };
            if (type) headers["content-type"] = type;
            const res = await t.app.handle(new Request(`http://localhost${path}`, { method, body, headers }));
            if (res.status >= 500)
              throw new Error(`${method} ${path} ${type} ${body?.slice(0, 40)} -> ${res.status} ${await res.text()}`);
          }
        }
      }
    }
    // The store is as it was, except for sessions a valid create made.
    const stats = await t.core.store.admin.stats(t.clock.now());
    expect(stats.sessions.revoked).toBe(0);
  });
});

describe("deeply nested bodies", () => {
  test.each(JSON_ENDPOINTS)("%s: 16 KiB of nesting is refused quickly with 400", async (path) => {
    for (const body of ["[".repeat(8000) + "]".repeat(8000), `${'{"a":'.repeat(1600)}1${"}".repeat(1600)}`]) {
      const started = performance.now();
      const res = await post(path, body, { "content-type": "application/json" });
      await expectError(res, 400, "invalid_request");
      expect(performance.now() - started).toBeLessThan(200);
    }
    await unchanged();
  });

  test("claims nested a few levels deep are fine; brackets inside strings do not count", async () => {
    const claims = { a: { b: { c: [[{ d: "[[[[[[[[[[".repeat(20) }]] } } };
    const res = await post("/session", JSON.stringify({ user_id: "nested", claims }), {
      "content-type": "application/json",
    });
    expect(res.status).toBe(201);
  });
});
