/**
 * JSON request bodies (CONTRACT §1): application/json (charset utf-8 only) or 415; more than 16 KiB
 * is 413, decided from Content-Length or while streaming, before anything is parsed; bad JSON is 400.
 */
import { isUtf8 } from "node:buffer";
import { ServiceError } from "../core/errors";

export const MAX_BODY_BYTES = 16 * 1024;

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
async function readChunked(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
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

function decodeJson(bytes: Uint8Array): unknown {
  let text: string;
  let value: unknown;
  try {
    if (!isUtf8(bytes)) throw new Error("not UTF-8");
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw new ServiceError("invalid_request", "The body is not valid JSON.");
  }
  // Nesting deeper than the limit takes more than twice as many bytes: short bodies need no scan.
  if (text.length > 2 * MAX_JSON_DEPTH && nestingDepth(text) > MAX_JSON_DEPTH)
    throw new ServiceError("invalid_request", "The body is nested too deeply.");
  return value;
}

/**
 * The parsed body, or a ServiceError (413, 415, 400). Not an async function: the checks throw at
 * once and only the read is a promise — each async layer costs on the hottest path there is.
 */
export function parseJsonBody(request: Request): Promise<unknown> {
  // Size first: an oversized body is refused whatever it claims to be.
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_BODY_BYTES)
    return Promise.reject(new ServiceError("payload_too_large"));
  try {
    checkContentType(request.headers.get("content-type"));
  } catch (error) {
    return Promise.reject(error);
  }
  return (declared !== null ? request.bytes() : readChunked(request)).then(decodeJson);
}
