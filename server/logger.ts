/** JSON logs with pino. Secrets never reach a log line: token fields and Authorization are redacted. */
import pino from "pino";

export type Logger = pino.Logger;

export const REDACT_PATHS = [
  "refresh_token",
  "access_token",
  "*.refresh_token",
  "*.access_token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: "session-service" }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, destination);
}
