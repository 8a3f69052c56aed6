/**
 * Request bodies (CONTRACT §1). On every method and route a body over 16 KiB is 413, decided from
 * Content-Length or while streaming, before anything is parsed and before any credential is
 * checked. JSON endpoints take application/json (charset utf-8 only) or answer 415. Bad JSON is
 * not thrown here: it becomes a marker that fails the route's body schema (400), so an endpoint
 * that checks a service key refuses a wrong key first, whatever the body (README).
 */
import { isUtf8 } from "node:buffer";
import { ServiceError } from "../core/errors";

export const MAX_BODY_BYTES = 16 * 1024;

/** True when the request declares a body over the cap (or a Content-Length that is not a number). */
export function declaresTooLarge(request: Request): boolean {
  const declared = request.headers.get("content-length");
  return declared !== null && !(Number(declared) <= MAX_BODY_BYTES);
}

function checkContentType(header: string | null): void {
  if (header === "application/json") return; // what nearly every caller sends: no parsing
  const [type, ...params] = (header ?? "").split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") throw new ServiceError("unsupported_media_type");
  for (const param of params) {
    const [name, value] = param.split("=").map((part) => part.trim().replace(/^"|"$/g, ""));
    if (name === "charset" && value !== "utf-8" && value !== "utf8") throw new ServiceError("unsupported_media_type");
  }
}

/**
 * A chunked body, which carries no length, is streamed and given up as soon as it passes the cap.
 * (A body with a Content-Length, already checked against the cap, is read in one call: the server
 * never reads past the length.)
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new ServiceError("payload_too_large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// Checking the bytes first and then decoding is cheaper than a fatal TextDecoder.
const decoder = new TextDecoder("utf-8");

/**
 * No request of this API nests anywhere near this deep. Elysia (outside NODE_ENV=production)
 * pretty-prints a refused body into its validation message, which costs O(depth²): a 16 KiB body of
 * `[[[[…` would block the event loop for about a second.
 */
export const MAX_JSON_DEPTH = 128;

/** Deepest nesting of arrays and objects in JSON text, counting only brackets outside strings. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * What a body that is not usable JSON parses to. Symbols, because no JSON value is one: they fail
 * every body schema (so the route answers 400 after its credential check), and a handler never
 * mistakes one for data.
 */
const MALFORMED = {
  json: Symbol("the body is not valid JSON"),
  depth: Symbol("the body is nested too deeply"),
} as const;
const MALFORMED_MESSAGES = new Map<unknown, string>([
  [MALFORMED.json, "The body is not valid JSON."],
  [MALFORMED.depth, "The body is nested too deeply."],
]);

/** The 400 message for a body that parsed to a malformed marker, or null for a real body. */
export function malformedBodyMessage(body: unknown): string | null {
  return typeof body === "symbol" ? (MALFORMED_MESSAGES.get(body) ?? null) : null;
}

function decodeJson(bytes: Uint8Array): unknown {
  let text: string;
  let value: unknown;
  try {
    if (!isUtf8(bytes)) throw new Error("not UTF-8");
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return MALFORMED.json;
  }
  // Nesting deeper than the limit takes more than twice as many bytes: short bodies need no scan.
  if (text.length > 2 * MAX_JSON_DEPTH && nestingDepth(text) > MAX_JSON_DEPTH) return MALFORMED.depth;
  return value;
}

/**
 * The parsed body (or a malformed marker), or a ServiceError (413, 415). Not an async function:
 * the checks throw at once and only the read is a promise — each async layer costs on the hottest
 * path there is.
 */
export function parseJsonBody(request: Request): Promise<unknown> {
  // Size first: an oversized body is refused whatever it claims to be.
  if (declaresTooLarge(request)) return Promise.reject(new ServiceError("payload_too_large"));
  try {
    checkContentType(request.headers.get("content-type"));
  } catch (error) {
    return Promise.reject(error);
  }
  const declared = request.headers.get("content-length") !== null;
  return (declared ? request.bytes() : readCapped(request.body)).then(decodeJson);
}

/**
 * The body of a method this API reads no body for (DELETE and the like): never parsed, but held
 * to the same cap — a chunked one is read only up to it. Resolves to null (no body) or 413.
 */
export function ignoreBody(request: Request): Promise<null> | null {
  if (declaresTooLarge(request)) return Promise.reject(new ServiceError("payload_too_large"));
  if (request.headers.get("content-length") !== null || !request.body) return null;
  return readCapped(request.body).then(() => null);
}
