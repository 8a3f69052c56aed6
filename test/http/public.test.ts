/** JWKS, probes, the OpenAPI document, unknown routes. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openTestApp } from "../support/core";
import { expectError, json, type TestApp } from "../support/http";

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
});
afterAll(() => t.close());

test("JWKS: public members only, unique kids, Cache-Control public, max-age=300", async () => {
  const res = await t.call("GET", "/.well-known/jwks.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("public, max-age=300");
  const { keys } = await json(res);
  expect(keys.length).toBeGreaterThanOrEqual(1);
  expect(new Set(keys.map((k: { kid: string }) => k.kid)).size).toBe(keys.length);
  for (const key of keys) {
    expect(key).toMatchObject({ alg: "EdDSA", use: "sig", kty: "OKP", crv: "Ed25519" });
    for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(key).not.toHaveProperty(member);
  }
});

test("healthz and readyz", async () => {
  const health = await t.call("GET", "/healthz");
  expect(health.status).toBe(200);
  const ready = await t.call("GET", "/readyz");
  expect(ready.status).toBe(200);
  expect(await json(ready)).toEqual({ checks: { store: "ok", events: "disabled" } });
});

test("readyz is 503 with Retry-After when the store cannot write", async () => {
  const local = await openTestApp();
  try {
    await local.core.store.close();
    const res = await local.call("GET", "/readyz");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect((await json(res)).checks.store).toBe("unavailable");
  } finally {
    await local.close().catch(() => {});
  }
});

test("/docs/json lists every endpoint with its method", async () => {
  const res = await t.call("GET", "/docs/json");
  expect(res.status).toBe(200);
  const doc = await json(res);
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  const expected: Array<[string, string]> = [
    ["/session", "post"],
    ["/session/refresh", "post"],
    ["/session/validate", "post"],
    ["/session/revoke", "post"],
    ["/session/all", "delete"],
    ["/session/{id}", "delete"],
    ["/session/me", "get"],
    ["/.well-known/jwks.json", "get"],
    ["/healthz", "get"],
    ["/readyz", "get"],
  ];
  for (const [path, method] of expected) {
    expect(paths[path]?.[method]).toBeDefined();
  }
  // Request bodies are described.
  expect(JSON.stringify(paths["/session"].post)).toContain("user_id");
  expect(JSON.stringify(paths["/session/refresh"].post)).toContain("refresh_token");
});

test("/docs serves the UI", async () => {
  const res = await t.call("GET", "/docs");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
});

test("an unknown route is a JSON 404, not a 500", async () => {
  await expectError(await t.call("GET", "/nope"), 404, "not_found");
  await expectError(await t.call("PUT", "/session/me"), 404, "not_found");
});
