/** Rendering and exit-status mapping, in-process (the other files run the real CLI process). */
import { expect, test } from "bun:test";
import { DrizzleQueryError } from "drizzle-orm";
import { type CliIO, createContext } from "../../cli/context";
import { EXIT, EXIT_CODE } from "../../cli/exit-codes";
import { runCli } from "../../cli/program";
import { renderJson, renderRecord, renderTable, truncate } from "../../cli/render";
import { loadConfig } from "../../server/config";
import { ERROR_CODES, ServiceError } from "../../server/core/errors";

test("on a terminal tables have boxes; elsewhere plain columns without colour codes or trailing spaces", () => {
  const rows = [
    ["a", 1, null],
    ["bbbb", 22, "x"],
  ];
  const tty = renderTable(["NAME", "N", "NOTE"], rows, true);
  expect(tty).toContain("┌");
  const plain = renderTable(["NAME", "N", "NOTE"], rows, false);
  expect(plain).toBe("NAME  N   NOTE\na     1   -\nbbbb  22  x\n");
  expect(renderRecord([["users", 3]], false)).toBe("users  3\n");
});

test("--json output is exactly one JSON document", () => {
  expect(JSON.parse(renderJson({ a: [1] }))).toEqual({ a: [1] });
});

test("truncate never splits a code point", () => {
  expect(truncate("😀😀😀", 2)).toBe("😀…");
  expect(truncate(null, 5)).toBeNull();
});

test("every error code has an exit status; not_found is 3", () => {
  for (const code of ERROR_CODES) expect([0, 1, 2, 3]).toContain(EXIT_CODE[code]);
  expect(EXIT_CODE.not_found).toBe(EXIT.notFound);
  expect(EXIT_CODE.unavailable).toBe(EXIT.error);
});

test("runCli returns the status instead of exiting, and writes only through its CliIO", async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY: false };
  const ctx = createContext(loadConfig({ ACCESS_TOKEN_TTL: "2h" }), io);
  expect(await runCli(["stats", "--help"], ctx)).toBe(EXIT.ok);
  expect(out.join("")).toContain("Usage: sessionctl stats");
  expect(await runCli(["stats", "--nope"], ctx)).toBe(EXIT.usage);
  expect(await runCli(["stats"], ctx)).toBe(EXIT.error);
  expect(err.at(-1)).toBe("sessionctl: bad settings: ACCESS_TOKEN_TTL must not exceed 1h\n");
});

test("store failures are one line: unavailable exits 1, and a failed query never shows its parameters", async () => {
  const err: string[] = [];
  const io: CliIO = { out: () => {}, err: (t) => void err.push(t), isTTY: false };
  const failing = (error: unknown) => ({
    ...createContext(loadConfig({}), io),
    withCore: async () => Promise.reject(error),
    withReader: async () => Promise.reject(error),
  });

  expect(await runCli(["stats"], failing(new ServiceError("unavailable")))).toBe(EXIT.error);
  expect(err.at(-1)).toBe("sessionctl: The store is unavailable; retry later.\n");

  const leaky = new DrizzleQueryError(
    "insert into service_clients values (?, ?)",
    ["gateway", "SECRET-HASH"],
    new Error("disk I/O error"),
  );
  expect(await runCli(["clients", "list"], failing(leaky))).toBe(EXIT.error);
  expect(err.at(-1)).toBe("sessionctl: store error: disk I/O error\n");
});
