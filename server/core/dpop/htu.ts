/**
 * The `htu` a proof must name, and how two of them are compared (RFC 9449 §4.3 step 9: without
 * query and fragment, after RFC 3986 §6.2.2/§6.2.3 normalisation). The WHATWG URL parser already
 * lowercases scheme and host, drops a default port and removes dot segments; on top of it the
 * path's percent-encodings are normalised (unreserved characters decoded, hex digits uppercased).
 */

/** Whitespace, control characters and backslashes: the URL parser would silently drop or rewrite them. */
const UNSAFE = /[\u0000-\u0020\u007f-\u009f\\]/;
const PERCENT = /%[0-9A-Fa-f]{2}/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Longer than any URL this service is reached at; bounds the work a hostile claim can cause. */
const MAX_URL_LENGTH = 2048;

/** The path the refresh flow is served at, below PUBLIC_URL. */
export const REFRESH_PATH = "/session/refresh";

const normalisePercent = (path: string) =>
  path.replace(PERCENT, (triplet) => {
    const char = String.fromCharCode(Number.parseInt(triplet.slice(1), 16));
    return UNRESERVED.test(char) ? char : triplet.toUpperCase();
  });

function parseHttpUrl(text: string): URL | null {
  if (text.length > MAX_URL_LENGTH || UNSAFE.test(text)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username !== "" || url.password !== "") return null;
  return url;
}

/**
 * `scheme://host[:port]/path` of an absolute http(s) URL, query and fragment dropped; null for
 * anything else (relative, another scheme, credentials, control characters).
 */
export function normaliseHtu(text: string): string | null {
  const url = parseHttpUrl(text);
  return url === null ? null : `${url.protocol}//${url.host}${normalisePercent(url.pathname)}`;
}

/**
 * PUBLIC_URL as a base without a trailing slash (`https://gw.example/auth`), or null when it is
 * not an absolute http(s) URL or carries a query, a fragment or credentials (a base URL has none).
 */
export function parsePublicUrl(text: string): string | null {
  if (text.includes("?") || text.includes("#")) return null;
  const base = normaliseHtu(text);
  return base === null ? null : base.replace(/\/+$/, "");
}

/** The normalised `htu` of the refresh endpoint behind this PUBLIC_URL; throws on a bad PUBLIC_URL (a setting, checked at start). */
export function refreshHtu(publicUrl: string): string {
  const base = parsePublicUrl(publicUrl);
  if (base === null) throw new Error("PUBLIC_URL must be an absolute http(s) URL without query or fragment");
  return normaliseHtu(base + REFRESH_PATH)!;
}
