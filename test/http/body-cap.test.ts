/**
 * CONTRACT §1: a body over 16 KiB is 413 payload_too_large with the JSON error body on every route
 * and every method — DELETE and GET included, unknown routes too — before any credential is checked
 * and before anything is parsed; with a Content-Length or streamed without one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bearer, openTestApp, serviceAuth } from "../support/core";
import { expectError, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
let accessToken: string;
let sessionId: string;
beforeAll(async () => {
  t = await openTestApp();
  ({ access_token: accessToken, session_id: sessionId } = await openSession(t, { user_id: "cap-owner" }));
});
afterAll(() => t.close());

const OVER = 16 * 1024 + 1;
const ROUTES = [
  "/session",
  "/session/refresh",
  "/session/validate",
  "/session/revoke",
  "/session/all",
  "/session/me",
  "/session/019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11",
  "/.well-known/jwks.json",
  "/healthz",
  "/readyz",
  "/metrics",
  "/docs",
  "/no/such/route",
];
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** An endless stream of JSON-ish bytes; counts how many chunks the server pulled. */
function endlessBody() {
  const chunk = new TextEncoder().encode(`{"refresh_token":"${"x".repeat(4000)}`);
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulled++;
      if (state.pulled > 1000) controller.close();
      else controller.enqueue(chunk);
    },
  });
  return { stream, state };
}

describe("every method and route", () => {
  for (const method of METHODS) {
    test.each(ROUTES)(`${method} %s with a declared length over 16 KiB: 413 before anything else`, async (path) => {
      const before = await snapshot(t.core);
      // Declared only: the guard must answer from the header without waiting for a body.
      const res = await t.app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: { "content-length": String(OVER), "content-type": "text/plain", ...bearer(accessToken) },
        }),
      );
      await expectError(res, 413, "payload_too_large");
      expect(res.headers.get("connection")).toBe("close");
      expect(await snapshot(t.core)).toBe(before);
    });
  }

  for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
    test.each(ROUTES)(`${method} %s with a chunked body: read only up to the cap`, async (path) => {
      const { stream, state } = endlessBody();
      const request = new Request(`http://localhost${path}`, {
        method,
        body: stream,
        headers: { "content-type": "application/json", ...serviceAuth },
        duplex: "half",
      } as RequestInit);
      expect(request.headers.get("content-length")).toBeNull();
      const res = await t.app.handle(request);
      // Routes that read bodies refuse at the cap; the others never read it (the server's own
      // layer reads every chunked body up to the cap, see the abuse test).
      if (res.status === 413) expect(state.pulled).toBeLessThan(10);
      else expect(state.pulled).toBeLessThan(2);
      expect(res.status).toBeLessThan(500);
    });
  }
});

describe("DELETE bodies are held to the cap before the access token is checked", () => {
  test("DELETE /session/all with a valid token and a 48 MiB declared body: 413, nothing revoked", async () => {
    const res = await t.app.handle(
      new Request("http://localhost/session/all", {
        method: "DELETE",
        headers: { ...bearer(accessToken), "content-length": String(48 * 1024 * 1024) },
      }),
    );
    await expectError(res, 413, "payload_too_large");
    expect((await t.call("GET", "/session/me", { headers: bearer(accessToken) })).status).toBe(200);
  });

  for (const path of ["/session/all", "/session/019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11"]) {
    test(`DELETE ${path} with a streamed body over the cap: 413 whatever the token`, async () => {
      for (const headers of [{}, bearer("not-a-token"), bearer(accessToken)]) {
        const { stream, state } = endlessBody();
        const res = await t.app.handle(
          new Request(`http://localhost${path}`, {
            method: "DELETE",
            body: stream,
            headers,
            duplex: "half",
          } as RequestInit),
        );
        await expectError(res, 413, "payload_too_large");
        expect(state.pulled).toBeLessThan(10);
      }
      expect((await t.call("GET", "/session/me", { headers: bearer(accessToken) })).status).toBe(200);
    });
  }

  test("a small DELETE body is ignored, whatever its type: the logout works", async () => {
    const res = await t.app.handle(
      new Request(`http://localhost/session/${sessionId}`, {
        method: "DELETE",
        body: "not json at all",
        headers: { ...bearer(accessToken), "content-type": "text/plain" },
      }),
    );
    expect(res.status).toBe(204);
    expect((await t.call("GET", "/session/me", { headers: bearer(accessToken) })).status).toBe(401);
  });
});
