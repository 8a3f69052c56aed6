/**
 * The order of checks on the service-key endpoints (README, CONTRACT §1–2): 413 and 415 first,
 * then the service key (401 invalid_client for a wrong or missing key, whatever the body), and only
 * then the body (400 for bad JSON or a wrong shape). A caller without the key learns nothing about
 * how its body would have been read.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bearer, openTestApp, serviceAuth } from "../support/core";
import { expectError, openSession, snapshot, type TestApp } from "../support/http";

let t: TestApp;
let accessToken: string;
beforeAll(async () => {
  t = await openTestApp();
  accessToken = (await openSession(t, { user_id: "order" })).access_token;
});
afterAll(() => t.close());

const post = (path: string, rawBody: string, headers: Record<string, string>) =>
  t.app.handle(
    new Request(`http://localhost${path}`, {
      method: "POST",
      body: rawBody,
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(rawBody)), ...headers },
    }),
  );

const BAD_BODIES = [
  '{"user_id": "SECRETVALUE-order"',
  "not json",
  "",
  "\ufeff{}",
  "[".repeat(300) + "]".repeat(300),
  "null",
  '{"user_id": 5, "refresh_token": 5}',
];
const WRONG_KEYS: Array<[string, Record<string, string>]> = [
  ["no key", {}],
  ["a wrong key", { authorization: "Bearer wrong-key-0123456789abcdef" }],
  ["another scheme", { authorization: "Basic dGVzdDp0ZXN0" }],
];

describe("service-key endpoints: the key before the body", () => {
  for (const path of ["/session", "/session/validate"]) {
    for (const [label, headers] of WRONG_KEYS) {
      test.each(BAD_BODIES)(`${path} with ${label} and body %j: 401 invalid_client`, async (raw) => {
        const before = await snapshot(t.core);
        await expectError(await post(path, raw, headers), 401, "invalid_client", ["SECRETVALUE-order"]);
        expect(await snapshot(t.core)).toBe(before);
      });
    }
    test(`${path} with a user's access token and bad JSON: 401 invalid_client`, async () => {
      await expectError(await post(path, "{", bearer(accessToken)), 401, "invalid_client");
    });
    test.each(BAD_BODIES)(`${path} with the right key and body %j: 400 invalid_request`, async (raw) => {
      await expectError(await post(path, raw, serviceAuth), 400, "invalid_request", ["SECRETVALUE-order"]);
    });
    test(`${path}: 413 and 415 still come before the key`, async () => {
      await expectError(await post(path, "x".repeat(17 * 1024), {}), 413, "payload_too_large");
      await expectError(await post(path, "{}", { "content-type": "text/plain" }), 415, "unsupported_media_type");
    });
  }

  test("bad JSON keeps its own message once the key is right", async () => {
    const text = await expectError(await post("/session", "{", serviceAuth), 400, "invalid_request");
    expect(JSON.parse(text).message).toBe("The body is not valid JSON.");
    const deep = await expectError(
      await post("/session", "[".repeat(300) + "]".repeat(300), serviceAuth),
      400,
      "invalid_request",
    );
    expect(JSON.parse(deep).message).toBe("The body is nested too deeply.");
  });

  test("refresh and revoke have no key: bad JSON is 400 there", async () => {
    for (const path of ["/session/refresh", "/session/revoke"]) {
      await expectError(await post(path, "{", {}), 400, "invalid_request");
    }
  });
});
