/**
 * HTTP/1.1 written by hand over a TCP socket, for what fetch() cannot send: odd Host headers, no
 * Host at all, chunked bodies of a chosen size, a body on a GET.
 */
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte written to the status line read. */
  ms: number;
}

export function parseResponse(text: string, ms: number): RawResponse {
  const end = text.indexOf("\r\n\r\n");
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(" ")[1] ?? 0), headers, body: end === -1 ? "" : text.slice(end + 4), ms };
}

/** One chunk of a chunked body. */
export const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;

export interface Pacing {
  /** Bytes written at a time (default 16 KiB). */
  pieceBytes?: number;
  /** How long to wait for an answer before writing the next piece (default 10 ms). */
  pauseMs?: number;
}

/**
 * Writes `head`, then `body` in pieces (16 KiB), each only after a pause (10 ms) without an answer, and
 * stops writing once an answer begins; reads until the server closes or `timeoutMs`. A server that
 * answers early and closes cuts the upload short: the answer is what counts. Pacing keeps the test
 * honest about that answer: bytes still unread in the server's socket when it closes make the
 * kernel reset the connection, and the reset drops an answer the client has not read yet.
 */
export function rawRequest(
  port: number,
  head: string,
  body: Uint8Array | string = "",
  timeoutMs = 10_000,
  { pieceBytes = 16_384, pauseMs = 10 }: Pacing = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const started = performance.now();
    let firstByte = 0;
    let text = "";
    let answered: () => void = () => {};
    const socket = connect(port, "127.0.0.1");
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      answered();
      resolve(parseResponse(text, (firstByte || performance.now()) - started));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (data) => {
      if (!firstByte) {
        firstByte = performance.now();
        answered();
      }
      text += data.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", finish);
    socket.on("connect", async () => {
      socket.write(head);
      const bytes = typeof body === "string" ? Buffer.from(body, "latin1") : body;
      for (let offset = 0; offset < bytes.length; offset += pieceBytes) {
        await new Promise<void>((resolve) => {
          answered = resolve;
          setTimeout(resolve, pauseMs);
        });
        if (firstByte || socket.destroyed) break;
        if (!socket.write(bytes.subarray(offset, offset + pieceBytes)))
          await new Promise((r) => {
            socket.once("drain", r);
            socket.once("close", r);
          });
      }
    });
  });
}
