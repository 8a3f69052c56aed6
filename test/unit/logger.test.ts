import { describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createLogger, fixedLine } from "../../server/logger";

test("token and credential fields are censored in log lines", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _enc, done) => {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger("info", sink);
  logger.info(
    {
      refresh_token: "rt-secret",
      access_token: "at-secret",
      service_key: "sk-secret",
      authorization: "Bearer x-secret",
      headers: { authorization: "Bearer y-secret" },
    },
    "careless",
  );
  expect(lines).toHaveLength(1);
  const line = JSON.parse(lines[0]);
  expect(line).toMatchObject({
    refresh_token: "[redacted]",
    access_token: "[redacted]",
    service_key: "[redacted]",
    authorization: "[redacted]",
    headers: { authorization: "[redacted]" },
  });
  expect(lines[0]).not.toContain("secret");
});

describe("fixed lines (the request and lifecycle lines)", () => {
  const capture = (level = "info") => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    return { lines, logger: createLogger(level, sink) };
  };

  test("the same line pino writes, field for field, in order with pino's own lines", () => {
    const { lines, logger } = capture();
    const forged = 'curl" , "level":60, "msg":"owned\n{"level":60}\u2028\ud800';
    const line = fixedLine(logger, "info", ["req_id", "status", "ms", "remote", "user_agent", "name"], "request");
    logger.info({ req_id: "r-1", status: 200, ms: 1.5, user_agent: forged, name: null }, "request");
    line.write(["r-1", 200, 1.5, undefined, forged, null]);
    logger.info("after");
    expect(lines).toHaveLength(3);
    const [byPino, byHand] = lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(byHand.time).toBeNumber();
    expect({ ...byHand, time: 0 }).toEqual({ ...byPino, time: 0 });
    expect(Object.keys(byHand)).toEqual(Object.keys(byPino!));
    expect(lines[1]!.endsWith("}\n")).toBe(true);
    expect(lines[1]!.split("\n")).toHaveLength(2);
    expect(JSON.parse(lines[2]!).msg).toBe("after");
  });

  test("a number that JSON cannot hold is null, never a broken line", () => {
    const { lines, logger } = capture();
    fixedLine(logger, "info", ["ms"], "request").write([Number.NaN]);
    expect(JSON.parse(lines[0]!).ms).toBeNull();
  });

  test("follows the logger's level, and a redacted field name cannot be a fixed field", () => {
    const { lines, logger } = capture("warn");
    const info = fixedLine(logger, "info", ["route"], "request");
    expect(info.enabled()).toBe(false);
    expect(fixedLine(logger, "warn", ["route"], "reuse").enabled()).toBe(true);
    expect(lines).toEqual([]);
    expect(() => fixedLine(logger, "info", ["refresh_token"], "oops")).toThrow();
    expect(() => fixedLine(logger, "info", ['x":1,"level'], "oops")).toThrow();
  });
});
