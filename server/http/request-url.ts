/**
 * The path of a request as the client sent it, whatever its Host header.
 *
 * Elysia finds the path by skipping the first 11 characters of the URL ("http://a.bc" is the
 * shortest host it expects) and taking everything from the next "/". Bun builds the URL from the
 * Host header: with `Host: a` the URL is `http://a/session/metrics` and Elysia reads the path as
 * `/metrics`; with an empty or malformed Host, or none (HTTP/1.0), Bun passes the bare path
 * (`/session/metrics`), which Elysia slices the same wrong way. A request whose URL would be misread
 * is handed on with the same path under a standard host, so routing, logs and metrics all see the
 * path that was requested.
 */

/** Where the path starts in a URL as Bun gives it: after "scheme://host", or 0 for a bare path. */
function pathStart(url: string): number {
  if (url.charCodeAt(0) === 0x2f) return 0; // "/": Bun gave the path alone
  const scheme = url.indexOf("://");
  if (scheme === -1) return 0;
  const slash = url.indexOf("/", scheme + 3);
  return slash === -1 ? url.length : slash;
}

/** The path and query of a request URL ("/session/me?x=1"), "/" when it has none. */
export function pathAndQueryOf(url: string): string {
  return url.slice(pathStart(url)) || "/";
}

/** The path of a request URL, without the query. */
export function pathOf(url: string): string {
  const rest = pathAndQueryOf(url);
  const query = rest.indexOf("?");
  return query === -1 ? rest : rest.slice(0, query);
}

/** Elysia's assumption (see above): the path starts at index 11 or later. */
const ELYSIA_PATH_OFFSET = 11;
const STANDARD_ORIGIN = "http://localhost";

/**
 * The request as Elysia can route it: the same object when its URL is standard (nearly always:
 * the check is two indexOf calls), else a copy with the same method, headers and body whose URL is
 * the requested path under a standard host.
 */
export function routableRequest(request: Request): Request {
  const url = request.url;
  if (pathStart(url) >= ELYSIA_PATH_OFFSET) return request;
  return new Request(STANDARD_ORIGIN + pathAndQueryOf(url), {
    method: request.method,
    headers: request.headers,
    body: request.body,
    // A streamed body must be passed on as it comes (fetch's "half duplex").
    duplex: "half",
  } as RequestInit);
}
