/** Help, bad usage and bad settings: exit statuses 0 / 2 / 1, and errors as one line on stderr. */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { createContext } from "../../cli/context";
import { buildProgram } from "../../cli/program";
import { loadConfig } from "../../server/config";
import { tempDir } from "../support/core";
import { PROJECT_ROOT } from "../support/server";
import { cliEnv, sessionctl, startedByServer } from "./support";

const dir = tempDir("sessionctl-usage-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every command of the real program, found by walking commander's tree (a new one is checked too). */
function commandPaths(command: Command, path: string[] = []): string[][] {
  return [path, ...command.commands.flatMap((sub) => commandPaths(sub, [...path, sub.name()]))];
}
const silent = { out: () => {}, err: () => {}, isTTY: false };
const COMMANDS = commandPaths(buildProgram(createContext(loadConfig({}), silent)));

test("the walk finds every command of the contract", () => {
  expect(COMMANDS.map((path) => path.join(" ")).sort()).toEqual(
    [
      "",
      "list",
      "show",
      "revoke",
      "purge",
      "stats",
      "migrate",
      "keys",
      "keys list",
      "keys rotate",
      "keys retire",
      "clients",
      "clients list",
      "clients add",
      "clients remove",
    ].sort(),
  );
});

describe("--help", () => {
  for (const command of COMMANDS) {
    test(`sessionctl ${[...command, "--help"].join(" ")} explains it with an example and exits 0`, async () => {
      // Deliberately bad settings: help must not need any.
      const result = await sessionctl(dir, [...command, "--help"], { ACCESS_TOKEN_TTL: "2h" });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toContain("Usage: sessionctl");
      expect(result.stdout).toMatch(/\nExamples:\n {2}\$ \S*.*sessionctl /);
      // At least one example runs this very command (a group's examples run its subcommands).
      const runs = [...result.stdout.matchAll(/^ {2}\$ .*?sessionctl (.*)$/gm)].map((m) => `${m[1]} `);
      expect(runs.some((line) => line.startsWith(command.length ? `${command.join(" ")} ` : ""))).toBe(true);
    });
  }

  test("each command documents its options", async () => {
    const help = async (...args: string[]) => (await sessionctl(dir, [...args, "--help"])).stdout;
    expect(await help("list")).toMatch(
      /--user <id>[\s\S]*--status <status>[\s\S]*"active",\s+"revoked",\s+"expired",\s+"all"[\s\S]*--limit <n>[\s\S]*--json/,
    );
    expect(await help("revoke")).toMatch(/--user <id>[\s\S]*--reason <text>/);
    expect(await help("purge")).toMatch(/--older-than <duration>[\s\S]*default: 30d[\s\S]*--dry-run/);
    expect(await help("keys", "rotate")).toContain("--now");
    expect(await help("keys", "retire")).toContain("--force");
  });
});

describe("bad usage exits 2 with one line on stderr", () => {
  const cases: Array<[string, string[]]> = [
    ["no command", []],
    ["an unknown command", ["lst"]],
    ["an unknown option", ["list", "--colour"]],
    ["a status that does not exist", ["list", "--status", "gone"]],
    ["a limit that is not a number", ["list", "--limit", "ten"]],
    ["a limit of zero", ["list", "--limit", "0"]],
    ["a bad duration", ["purge", "--older-than", "30 days"]],
    ["revoke with neither id nor --user", ["revoke"]],
    ["revoke with both id and --user", ["revoke", "0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e", "--user", "alice"]],
    ["show without an id", ["show"]],
    ["an extra argument", ["stats", "extra"]],
    ["a group without its subcommand", ["keys"]],
    ["a client name with a comma", ["clients", "add", "a,b"]],
  ];
  for (const [name, args] of cases) {
    test(name, async () => {
      const result = await sessionctl(dir, args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      if (args.length > 0 && args[0] !== "keys") {
        expect(result.stderr).toMatch(/^sessionctl: [^\n]+\n$/);
      }
    });
  }
});

test("bad settings exit 1 with every problem on one line, and no stack trace", async () => {
  const result = await sessionctl(dir, ["stats"], { ACCESS_TOKEN_TTL: "2h", JWT_ALG: "HS256" });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^sessionctl: bad settings: [^\n]*ACCESS_TOKEN_TTL[^\n]*JWT_ALG[^\n]*\n$/);
  expect(result.stderr).not.toContain("    at ");
});

test("--version prints the package version", async () => {
  const result = await sessionctl(dir, ["--version"]);
  expect(result.code).toBe(0);
  expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
});

test("the sessionctl bin (shebang) and `bun run sessionctl` both run the CLI", async () => {
  await startedByServer(dir);
  const run = async (cmd: string[]) => {
    const proc = Bun.spawn(cmd, { cwd: PROJECT_ROOT, env: cliEnv(dir), stdout: "pipe", stderr: "pipe" });
    return { code: await proc.exited, stdout: await new Response(proc.stdout).text() };
  };
  const bin = await run([join(PROJECT_ROOT, "cli/main.ts"), "stats", "--json"]);
  expect(bin.code).toBe(0);
  expect(JSON.parse(bin.stdout)).toHaveProperty("sessions");
  const script = await run(["bun", "run", "--silent", "sessionctl", "clients", "list", "--json"]);
  expect(script.code).toBe(0);
  expect(JSON.parse(script.stdout)).toEqual([]);
});
