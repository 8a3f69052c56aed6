/** The failure limiter on a fake clock: windows, Retry-After, the memory bound; limiter keys of addresses. */
import { describe, expect, test } from "bun:test";
import { ClientSource, PeerAddresses, sourceKey } from "../../server/http/client-source";
import { FailureLimiter } from "../../server/http/rate-limit";

describe("FailureLimiter", () => {
  test("max failures are allowed; then the source waits for the rest of its window, and starts over after it", () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ max: 2, windowMs: 60_000 }, () => now);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBeNull();
    now += 10_000;
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(50); // the window began with the first failure
    now += 49_001;
    expect(limiter.retryAfter("a")).toBe(1);
    now += 999;
    expect(limiter.retryAfter("a")).toBeNull();
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBeNull(); // a new window: one failure so far
    expect(limiter.retryAfter("b")).toBeNull();
  });

  test("memory is bounded: past maxSources the least recently failed source is forgotten", () => {
    const limiter = new FailureLimiter({ max: 1, windowMs: 60_000 }, () => 0, 1000);
    limiter.fail("first");
    for (let i = 0; i < 999; i++) limiter.fail(`s${i}`);
    limiter.fail("first"); // failing again makes it the most recent
    for (let i = 999; i < 1500; i++) limiter.fail(`s${i}`);
    expect(limiter.size).toBe(1000);
    expect(limiter.retryAfter("first")).not.toBeNull();
    expect(limiter.retryAfter("s1499")).not.toBeNull();
    expect(limiter.retryAfter("s0")).toBeNull(); // forgotten: the oldest failure
    // 500k spoofed sources cost no more than the bound.
    for (let i = 0; i < 500_000; i++) limiter.fail(`spoof-${i}`);
    expect(limiter.size).toBe(1000);
  });
});

describe("sources", () => {
  test("IPv4 as is; IPv6 per /64 in any spelling; IPv4-mapped as IPv4; anything else marked and cut", () => {
    expect(sourceKey("192.0.2.1")).toBe("192.0.2.1");
    expect(sourceKey("2001:DB8:0:1::5")).toBe("2001:db8:0:1::/64");
    expect(sourceKey("2001:db8:0:1:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:1::/64");
    expect(sourceKey("2001:0db8:0000:0001:0000:0000:0000:0001")).toBe("2001:db8:0:1::/64");
    expect(sourceKey("::1")).toBe("0:0:0:0::/64");
    expect(sourceKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(sourceKey("1:2::3:4:5:1.2.3.4")).toBe("1:2:0:3::/64");
    expect(sourceKey("x".repeat(100))).toBe(`?${"x".repeat(64)}`);
  });

  const request = (xff?: string) =>
    new Request("http://localhost/session/refresh", { headers: xff ? { "x-forwarded-for": xff } : {} });

  test("without trusted proxies the peer is the source, whatever X-Forwarded-For says", () => {
    const peers = new PeerAddresses();
    const source = new ClientSource([], peers);
    const r = request("203.0.113.1");
    peers.set(r, "198.51.100.1");
    expect(source.of(r)).toBe("198.51.100.1");
    expect(source.of(request())).toBe("unknown");
  });

  test("behind trusted proxies: the right-most untrusted hop; ports and brackets dropped; all trusted → left-most", () => {
    const peers = new PeerAddresses();
    const source = new ClientSource(
      [
        { address: "10.0.0.0", prefix: 8, family: "ipv4" },
        { address: "fd00::", prefix: 8, family: "ipv6" },
      ],
      peers,
    );
    const from = (peer: string, xff?: string) => {
      const r = request(xff);
      peers.set(r, peer);
      return source.of(r);
    };
    expect(from("10.0.0.1", "6.6.6.6, 203.0.113.7, 10.2.2.2")).toBe("203.0.113.7");
    expect(from("::ffff:10.0.0.1", "203.0.113.7:5555")).toBe("203.0.113.7");
    expect(from("fd00::1", "[2001:db8:5:6::1]:443, fd00::2")).toBe("2001:db8:5:6::/64");
    expect(from("10.0.0.1", "10.3.3.3, 10.2.2.2")).toBe("10.3.3.3");
    expect(from("10.0.0.1")).toBe("10.0.0.1");
    expect(from("10.0.0.1", "not-an-address")).toBe("?not-an-address");
    expect(from("198.51.100.1", "203.0.113.7")).toBe("198.51.100.1");
  });
});
