/** The verifier's pure parts, with a clock the test sets: Cache-Control, deny list, events, deliveries, Bearer. */
import { describe, expect, test } from "bun:test";
import { maxAgeSeconds } from "../../verifier/cache-control.ts";
import { DenyList } from "../../verifier/deny-list.ts";
import { bearerCredential } from "../../verifier/http.ts";
import { VerifiedTokens } from "../../verifier/memo.ts";
import { readRevocation } from "../../verifier/revocation-event.ts";
import { deliveryInfo } from "../../verifier/revocation-feed.ts";

describe("Cache-Control max-age", () => {
  test.each([
    [null, 300],
    ["public, max-age=1", 1],
    ["public, max-age=300", 300],
    ["MAX-AGE=42", 42],
    ['max-age="7"', 7],
    ["max-age=0", 1],
    ["no-cache", 1],
    ["public, no-store", 1],
    ["max-age=9999999", 86_400],
    ["max-age=abc", 300],
    ["s-maxage=10", 300],
    ["", 300],
  ])("%p → %p s", (header, seconds) => expect(maxAgeSeconds(header)).toBe(seconds));
});

describe("deny list", () => {
  test("an entry denies until its time, then is forgotten by the sweep", () => {
    const list = new DenyList();
    list.add("s1", 2_000);
    list.add("s2", 5_000);
    expect(list.has("s1", 1_999)).toBe(true);
    expect(list.has("s1", 2_000)).toBe(false);
    expect(list.has("other", 0)).toBe(false);
    expect(list.sweep(3_000)).toBe(1);
    expect(list.size).toBe(1);
    expect(list.sweep(5_000)).toBe(1);
    expect(list.size).toBe(0);
  });
  test("a second revocation of a session can only extend its entry", () => {
    const list = new DenyList();
    list.add("s", 5_000);
    list.add("s", 1_000);
    expect(list.has("s", 4_000)).toBe(true);
    list.add("s", 9_000);
    expect(list.has("s", 8_000)).toBe(true);
    expect(list.size).toBe(1);
  });
});

describe("session.revoked events", () => {
  const now = Date.parse("2026-12-02T10:00:00.000Z");
  const bytes = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
  const event = (data: Record<string, unknown>) =>
    bytes({ specversion: "1.0", id: "e", source: "session-service", type: "session.revoked", subject: "s", data });

  test("the session is denied until access_token_expires_at plus the tolerance", () => {
    const read = readRevocation(
      event({ session_id: "s1", access_token_expires_at: "2026-12-02T10:15:00.000Z" }),
      now,
      5_000,
      3_600_000,
    );
    expect(read).toEqual({ sessionId: "s1", untilMs: Date.parse("2026-12-02T10:15:05.000Z"), complete: true });
  });
  test("a far-future expiry is capped at one token lifetime (memory stays bounded)", () => {
    const read = readRevocation(
      event({ session_id: "s1", access_token_expires_at: "9999-01-01T00:00:00.000Z" }),
      now,
      0,
      600_000,
    );
    expect(read!.untilMs).toBe(now + 3_600_000);
  });
  test("a missing expiry still denies the session, for the longest lifetime, and counts as incomplete", () => {
    for (const expiry of [undefined, "yesterday", 42]) {
      const read = readRevocation(event({ session_id: "s1", access_token_expires_at: expiry }), now, 5_000, 3_600_000);
      expect(read).toEqual({ sessionId: "s1", untilMs: now + 3_600_000 + 5_000, complete: false });
    }
  });
  test.each([
    ["empty", new Uint8Array()],
    ["not JSON", bytes("not json {")],
    ["null", bytes("null")],
    ["an array", bytes("[1,2]")],
    ["no data", bytes({ specversion: "1.0" })],
    ["data not an object", bytes({ data: "s1" })],
    ["data an array", bytes({ data: ["s1"] })],
    ["session_id a number", event({ session_id: 42 })],
    ["session_id empty", event({ session_id: "" })],
    ["session_id too long", event({ session_id: "x".repeat(300) })],
    ["over 64 KiB", event({ session_id: "s1", pad: "x".repeat(70_000) })],
    ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0x7b])],
  ])("malformed: %s", (_, data) => expect(readRevocation(data, now, 5_000, 3_600_000)).toBeNull());
});

describe("JetStream delivery reply subjects", () => {
  test("the old and the new form", () => {
    expect(deliveryInfo("$JS.ACK.SESSIONS.c1.1.42.7.1764000000000000000.3")).toEqual({ sseq: 42, dseq: 7, pending: 3 });
    expect(deliveryInfo("$JS.ACK.hub.ACCHASH.SESSIONS.c1.1.42.7.1764000000000000000.0.rnd")).toEqual({
      sseq: 42,
      dseq: 7,
      pending: 0,
    });
  });
  test.each([undefined, "", "_INBOX.x", "$JS.ACK.too.short", "$JS.ACK.S.c.1.x.7.1.0"])("not a delivery: %p", (reply) =>
    expect(deliveryInfo(reply)).toBeNull(),
  );
});

describe("Authorization header", () => {
  test.each([
    [null, null, false],
    ["Bearer abc.def.ghi", "abc.def.ghi", true],
    ["bearer abc", "abc", true],
    ["BEARER   abc  ", "abc", true],
    ["Bearer", null, true],
    ["Bearer ", null, true],
    ["Bearer a b", null, true],
    ["Basic YWxpY2U6c2VjcmV0", null, false],
    ["Token abc", null, false],
    ["abc.def.ghi", null, false],
    ["Bearerabc", null, false],
  ])("%p", (header, token, sent) => expect(bearerCredential(header)).toEqual({ token, sent }));
});

describe("memo of verified tokens", () => {
  test("holds at most its size, oldest out first; size 0 holds nothing", () => {
    const memo = new VerifiedTokens<number>(2);
    const entry = (n: number) => ({ claims: n, expiresAtMs: 10, key: {} as never });
    memo.add("a", entry(1));
    memo.add("b", entry(2));
    memo.add("c", entry(3));
    expect(memo.size).toBe(2);
    expect(memo.get("a")).toBeUndefined();
    expect(memo.get("c")!.claims).toBe(3);
    memo.sweep(10);
    expect(memo.size).toBe(0);
    const none = new VerifiedTokens<number>(0);
    none.add("a", entry(1));
    expect(none.size).toBe(0);
  });
});
