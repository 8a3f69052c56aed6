/** htu normalisation (RFC 9449 §4.3, RFC 3986 §6.2) and PUBLIC_URL as the base of the refresh htu (CONTRACT §10). */
import { expect, test } from "bun:test";
import { normaliseHtu, parsePublicUrl, refreshHtu } from "../../server/core/dpop/htu";

test("scheme and host lowercased, default ports dropped, query and fragment ignored", () => {
  const canonical = "https://gw.example.com/auth/session/refresh";
  for (const text of [
    canonical,
    "HTTPS://GW.EXAMPLE.COM/auth/session/refresh",
    "https://gw.example.com:443/auth/session/refresh",
    "https://gw.example.com/auth/session/refresh?a=1&b=2",
    "https://gw.example.com/auth/session/refresh#top",
    "https://gw.example.com/auth/session/refresh?#",
  ]) {
    expect(normaliseHtu(text)).toBe(canonical);
  }
  expect(normaliseHtu("http://h.example:80/x")).toBe("http://h.example/x");
  // A port is only dropped when it is the scheme's default.
  expect(normaliseHtu("http://h.example:443/x")).toBe("http://h.example:443/x");
  expect(normaliseHtu("https://h.example:8443/x")).toBe("https://h.example:8443/x");
  expect(normaliseHtu("https://h.example")).toBe("https://h.example/");
  expect(normaliseHtu("http://[2001:DB8::1]:8080/x")).toBe("http://[2001:db8::1]:8080/x");
});

test("the path keeps its case; dot segments and percent-encodings are normalised", () => {
  expect(normaliseHtu("https://h.example/Session/Refresh")).toBe("https://h.example/Session/Refresh");
  expect(normaliseHtu("https://h.example/a/./b/../c")).toBe("https://h.example/a/c");
  // Unreserved characters are decoded, other triplets keep their meaning with uppercase hex.
  expect(normaliseHtu("https://h.example/%7Euser/%72efresh")).toBe("https://h.example/~user/refresh");
  expect(normaliseHtu("https://h.example/a%2fb")).toBe("https://h.example/a%2Fb");
  expect(normaliseHtu("https://h.example/a%2Fb")).toBe("https://h.example/a%2Fb");
});

test("anything but an absolute http(s) URL without credentials is no htu", () => {
  for (const text of [
    "",
    "/session/refresh",
    "gw.example.com/session/refresh",
    "ftp://gw.example.com/session/refresh",
    "javascript:alert(1)",
    "https://user:pw@gw.example.com/session/refresh",
    "https://user@gw.example.com/session/refresh",
    "https://gw.example.com/session/refresh\n",
    "https://gw.exa\tmple.com/session/refresh",
    "https://gw.example.com\\session\\refresh",
    "https:// gw.example.com/session/refresh",
    `https://gw.example.com/${"a".repeat(2100)}`,
  ]) {
    expect(normaliseHtu(text)).toBeNull();
  }
});

test("PUBLIC_URL: a trailing slash is ignored, a path prefix kept, query and fragment refused", () => {
  expect(parsePublicUrl("https://gw.example/auth/")).toBe("https://gw.example/auth");
  expect(parsePublicUrl("https://gw.example/auth")).toBe("https://gw.example/auth");
  expect(parsePublicUrl("https://gw.example/")).toBe("https://gw.example");
  expect(parsePublicUrl("HTTPS://GW.example:443")).toBe("https://gw.example");
  expect(parsePublicUrl("http://localhost:3000")).toBe("http://localhost:3000");
  for (const text of [
    "https://gw.example/?x=1",
    "https://gw.example/#f",
    "https://gw.example?",
    "gw.example",
    "ftp://gw",
  ]) {
    expect(parsePublicUrl(text)).toBeNull();
  }
});

test("the refresh htu is PUBLIC_URL + /session/refresh", () => {
  expect(refreshHtu("https://gw.example/auth/")).toBe("https://gw.example/auth/session/refresh");
  expect(refreshHtu("https://gw.example")).toBe("https://gw.example/session/refresh");
  expect(refreshHtu("http://localhost:3000")).toBe("http://localhost:3000/session/refresh");
  expect(() => refreshHtu("not a url")).toThrow("PUBLIC_URL");
});
