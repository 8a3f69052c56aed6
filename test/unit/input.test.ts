/** Content rules of server/core/input.ts. Errors are invalid_request and never repeat the value. */
import { describe, expect, test } from "bun:test";
import { ServiceError } from "../../server/core/errors";
import { canonicalIp, checkClaims, checkUserId, cleanUserAgent } from "../../server/core/input";

const refused = (fn: () => unknown, value: string) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ServiceError);
  expect((error as ServiceError).code).toBe("invalid_request");
  if (value.length >= 3) expect((error as ServiceError).message).not.toContain(value);
};

describe("canonicalIp", () => {
  test.each([
    ["192.0.2.1", "192.0.2.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"],
    ["2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["::FFFF:C000:0201", "::ffff:192.0.2.1"],
    ["0:0:0:0:0:ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["FE80::1", "fe80::1"],
  ])("%s -> %s", (input, canonical) => {
    expect(canonicalIp(input)).toBe(canonical);
  });

  test.each([
    "",
    "localhost",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.04",
    "0x7f.0.0.1",
    "1.2.3.4:80",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "[::1]",
    "[::1]:80",
    "fe80::1%eth0",
    "fe80::1%25eth0",
    "::1/128",
    "2001:db8::1::1",
    "2001:db8:0:0:0:0:0:0:1",
    "gggg::1",
    "١٢٣.1.1.1",
    "1.2.3.4/32",
    "'; DROP TABLE sessions;--",
  ])("refuses %j", (input) => refused(() => canonicalIp(input), input));
});

describe("cleanUserAgent", () => {
  test("removes every Cc control character (C0, DEL, C1) and keeps other text", () => {
    expect(cleanUserAgent("a\u0000b\tc\nd\u001fe\u007ff\u0080g\u009fh\u00a0i")).toBe("abcdefgh\u00a0i");
    expect(cleanUserAgent("Mozilla/5.0 (X11) ✓ 🚀")).toBe("Mozilla/5.0 (X11) ✓ 🚀");
  });

  test("cuts to 512 code points and never splits a surrogate pair", () => {
    expect([...cleanUserAgent("x".repeat(10_240))].length).toBe(512);
    const emoji = cleanUserAgent("🚀".repeat(600));
    expect([...emoji].length).toBe(512);
    expect(emoji.length).toBe(1024);
    expect(emoji.isWellFormed()).toBe(true);
    const offset = cleanUserAgent(`x${"🚀".repeat(600)}`);
    expect([...offset].length).toBe(512);
    expect(offset.isWellFormed()).toBe(true);
    expect(offset.endsWith("🚀")).toBe(true);
  });

  test("control characters are removed before the cut", () => {
    expect(cleanUserAgent("\u0000".repeat(600) + "y".repeat(512))).toBe("y".repeat(512));
  });

  test("lone surrogates do not reach the store", () => {
    expect(cleanUserAgent("a\ud800b").isWellFormed()).toBe(true);
  });
});

describe("checkUserId", () => {
  test("accepts 1 to 128 code points, any non-control text", () => {
    expect(checkUserId("a")).toBe("a");
    expect(checkUserId("x".repeat(128))).toBe("x".repeat(128));
    expect(checkUserId("🚀".repeat(128))).toBe("🚀".repeat(128));
    expect(checkUserId("' OR 1=1; --")).toBe("' OR 1=1; --");
    expect(checkUserId("user id with spaces\u00a0")).toBe("user id with spaces\u00a0");
  });
  test.each([
    "",
    "x".repeat(129),
    "bad\u0000id",
    "tab\there",
    "nl\nid",
    "del\u007fid",
    "c1\u0085id",
    "c1\u009fid",
    "\ud800",
    "lone\udc00low",
  ])("refuses %j", (input) => refused(() => checkUserId(input), input));
});

describe("checkClaims", () => {
  test("an object is kept as its JSON text; absent is null", () => {
    expect(checkClaims(undefined)).toBeNull();
    expect(checkClaims({})).toBe("{}");
    expect(checkClaims({ role: "admin", n: [1, { deep: true }] })).toBe('{"role":"admin","n":[1,{"deep":true}]}');
  });
  test.each([[null], [[]], [["a"]], ["text"], [1], [true]])("refuses %j (not an object)", (value) =>
    refused(() => checkClaims(value), ""),
  );
  test.each(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "typ"])("refuses the registered name %s", (name) =>
    refused(() => checkClaims({ ok: 1, [name]: "x" }), ""),
  );
  test.each([
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"prototype":1}',
    '{"a":[{"b":{"__proto__":{}}}]}',
  ])("refuses a prototype key at any depth: %s", (json) => refused(() => checkClaims(JSON.parse(json)), ""));
  test("2 KiB of JSON is the limit (bytes, not characters)", () => {
    const fits = { k: "x".repeat(2048 - '{"k":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(2048);
    expect(checkClaims(fits)).toBe(JSON.stringify(fits));
    refused(() => checkClaims({ k: "x".repeat(2048) }), "");
    refused(() => checkClaims({ k: "é".repeat(1100) }), ""); // 1100 characters, 2200 bytes
  });
});
