/** JSON logs with pino. Secrets never reach a log line: token fields and Authorization are redacted. */
import pino from "pino";

export type Logger = pino.Logger;

/**
 * Defence in depth: no code logs a token, but a field of these names would be censored. Exact
 * paths only: wildcard paths (`*.refresh_token`) made every log line cost twice as much (8 µs more
 * per request line), and no log call passes a nested body or header object.
 */
export const REDACT_PATHS = [
  "refresh_token",
  "access_token",
  "service_key",
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
];

/**
 * The server logs to stdout without blocking the event loop: a blocking write per request line
 * cost a fifth of the CPU of a cheap request. Lines are written as soon as the previous write is
 * done (no minimum buffer), so an idle server's lines appear at once; call flushLogs before exit.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service: "session-service" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * Everything logged so far is written out: before process.exit, or the last lines ("stopped") are
 * lost. With no minimum buffer sonic-boom's flush(cb) calls back at once, even while an
 * asynchronous write is still in flight (and process.exit would cut it off); so wait for that write
 * to finish, then write whatever is queued synchronously.
 */
export async function flushLogs(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, { _writing?: boolean; flushSync?: () => void }>)[
    pino.symbols.streamSym
  ];
  for (let waited = 0; stream?._writing && waited < 2_000; waited += 5) await Bun.sleep(5);
  try {
    stream?.flushSync?.();
  } catch {
    // A destination without a file descriptor (tests' in-memory streams) has nothing to flush.
  }
}

/** A value of a hand-built line: strings are JSON-escaped, undefined leaves the field out. */
export type LineValue = string | number | null | undefined;

/**
 * A log line of fixed field names, built by hand in pino's own format (`{"level":30,"time":…,
 * "service":…, fields…, "msg":…}`) and written to the logger's own stream, so it keeps its place
 * among pino's lines. For the lines written on every request (the request line, the lifecycle
 * lines): pino's generic path cost about 10 µs per line in the server, a third of a validate
 * request; this costs about 1 µs. Field names are fixed when the line is defined and may not be
 * any redacted name, so the redaction rules hold without being applied per line; strings go
 * through JSON.stringify, so a user agent cannot forge a line.
 */
export interface FixedLine<Names extends readonly string[]> {
  /** Whether the logger's level lets this line through (check before gathering the values). */
  enabled(): boolean;
  write(values: { [K in keyof Names]: LineValue }): void;
}

export function fixedLine<const Names extends readonly string[]>(
  logger: Logger,
  level: "info" | "warn",
  names: Names,
  msg: string,
): FixedLine<Names> {
  for (const name of names)
    if (REDACT_PATHS.includes(name) || !/^[a-z_]+$/.test(name))
      throw new Error(`field ${name} cannot be a fixed log field`);
  const levelValue = logger.levels.values[level]!;
  const prefix = `{"level":${levelValue},"time":`;
  const keys = names.map((name) => `,"${name}":`);
  const tail = `,"msg":${JSON.stringify(msg)}}\n`;
  const stream = (logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!;
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? "";
  return {
    enabled: () => logger.isLevelEnabled(level),
    write(values) {
      let line = prefix + Date.now() + bindings;
      for (let i = 0; i < keys.length; i++) {
        const value = values[i];
        if (value === undefined) continue;
        line +=
          keys[i] +
          (typeof value === "string"
            ? JSON.stringify(value)
            : value !== null && Number.isFinite(value)
              ? String(value)
              : "null");
      }
      stream.write(line + tail);
    },
  };
}
